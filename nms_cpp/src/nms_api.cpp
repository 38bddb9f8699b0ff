// The thin extern "C" layer: validates every input, never throws across the boundary, writes outputs
// only on success. The contract is at the top of include/nms_merger.h.
#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

#include "nms_core.hpp"
#include "nms_merger.h"

namespace {

using nms::Box;

#ifdef NMS_BAD_NAN_THRESHOLD
bool valid_threshold(double t) { return !(t < 0.0 || t > 1.0); }  // lets NaN through
#else
bool valid_threshold(double t) { return t >= 0.0 && t <= 1.0; }  // false for NaN
#endif

#ifdef NMS_BAD_EMPTY
int32_t check_count(int64_t n, int64_t max) { return (n <= 0 || n > max) ? NMS_ERR_BAD_COUNT : NMS_OK; }
#else
int32_t check_count(int64_t n, int64_t max) { return (n < 0 || n > max) ? NMS_ERR_BAD_COUNT : NMS_OK; }
#endif

/// Per-box checks in contract order; returns NMS_OK or the status for box i.
int32_t check_box(const float *b, const float *scores, int64_t i) {
    const float x1 = b[4 * i], y1 = b[4 * i + 1], x2 = b[4 * i + 2], y2 = b[4 * i + 3];
#ifndef NMS_BAD_NONFINITE_BOX  // the known-bad lets NaN and infinite coordinates through
    if (!std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2))
        return NMS_ERR_NONFINITE_BOX;
#endif
    if (x2 < x1 || y2 < y1) return NMS_ERR_INVERTED_BOX;
    if (!std::isfinite(scores[i])) return NMS_ERR_NONFINITE_SCORE;
    return NMS_OK;
}

/// Checks boxes [0, n) in order; the status and index of the lowest bad one, or NMS_OK.
int32_t check_boxes(const float *boxes, const float *scores, int64_t n, int64_t *bad_index) {
    int32_t status = NMS_OK;
    for (int64_t i = 0; i < n; ++i) {
        const int32_t st = check_box(boxes, scores, i);
        if (st != NMS_OK) {
            *bad_index = i;
            status = st;
#ifndef NMS_BAD_LAST_INDEX
            break;  // the contract names the lowest bad index; the known-bad reports the last one
#endif
        }
    }
    return status;
}

/// The rank keys of nms_greedy's candidates (score > score_threshold), in input order.
void candidates(const float *scores, int64_t n, double score_threshold, std::vector<uint64_t> &keys) {
    keys.clear();
    keys.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
#ifdef NMS_BAD_SCORE_GE
        if (static_cast<double>(scores[i]) >= score_threshold)
#else
        if (static_cast<double>(scores[i]) > score_threshold)
#endif
            keys.push_back(nms::rank_key(scores[i], static_cast<int32_t>(i)));
    }
}

/// Writes the keepers (kept[index] != 0) in rank order: a scan of the global rank order, no second sort.
/// Returns how many were written (at most `limit`, unless limit < 0).
size_t emit_in_rank_order(const nms::Ranked &r, const std::vector<uint8_t> &kept, int64_t limit,
                          int64_t *out_keep) {
#ifdef NMS_BAD_BUCKET_ORDER
    const std::vector<uint64_t> &order = r.grouped;  // forgets the rank order across classes
#else
    const std::vector<uint64_t> &order = r.global;
#endif
    size_t count = 0;
    for (uint64_t key : order) {
        if (limit >= 0 && static_cast<int64_t>(count) >= limit) break;
        const int32_t i = nms::index_of(key);
        if (kept[static_cast<size_t>(i)]) out_keep[count++] = i;
    }
    return count;
}

template <class F>
int32_t guarded(F f) {
    try {
#ifdef NMS_BAD_SLOW
        // Known-bad for the speed checks: the same work 100 times (a "100x off" build, whatever the machine).
        for (int r = 0; r < 99; ++r) (void)f();
#endif
        return f();
    } catch (const std::bad_alloc &) {
        return NMS_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return NMS_ERR_INTERNAL;
    }
}

}  // namespace

extern "C" {

int32_t nms_abi_version(void) { return NMS_ABI_VERSION; }

const char *nms_status_message(int32_t status) {
    switch (status) {
        case NMS_OK: return "ok";
        case NMS_ERR_NULL_POINTER: return "a required pointer is NULL";
        case NMS_ERR_BAD_COUNT: return "a count is negative or larger than the library accepts";
        case NMS_ERR_NONFINITE_BOX: return "a box coordinate is NaN or infinite";
        case NMS_ERR_INVERTED_BOX: return "a box has x2 < x1 or y2 < y1";
        case NMS_ERR_NONFINITE_SCORE: return "a score is NaN or infinite";
        case NMS_ERR_BAD_THRESHOLD: return "a threshold is NaN or outside [0, 1]";
        case NMS_ERR_BAD_TILE_ID: return "a tile id is outside [0, n_tiles)";
        case NMS_ERR_NONFINITE_OFFSET: return "a tile offset is NaN or infinite";
        case NMS_ERR_BAD_METHOD: return "unknown merge method";
        case NMS_ERR_BAD_METRIC: return "unknown match metric";
        case NMS_ERR_CAPACITY: return "output capacity is smaller than the number of boxes";
        case NMS_ERR_OUT_OF_MEMORY: return "out of memory";
        case NMS_ERR_INTERNAL: return "internal error";
        default: return "unknown status";
    }
}

int32_t nms_greedy(const float *boxes, const float *scores, const int32_t *class_ids, int64_t n,
                   double iou_threshold, double score_threshold, int64_t max_detections,
                   int32_t class_agnostic, int64_t *out_keep, int64_t out_capacity, int64_t *out_count,
                   int64_t *out_bad_index) {
    if (out_bad_index == nullptr) return NMS_ERR_NULL_POINTER;
    *out_bad_index = -1;
    if (boxes == nullptr || scores == nullptr || out_keep == nullptr || out_count == nullptr)
        return NMS_ERR_NULL_POINTER;
    if (check_count(n, NMS_MAX_BOXES) != NMS_OK) return NMS_ERR_BAD_COUNT;
    if (max_detections < NMS_UNLIMITED) return NMS_ERR_BAD_COUNT;
    if (out_capacity < n) return NMS_ERR_CAPACITY;
    if (!valid_threshold(iou_threshold) || !valid_threshold(score_threshold)) return NMS_ERR_BAD_THRESHOLD;
    const int32_t st = check_boxes(boxes, scores, n, out_bad_index);
    if (st != NMS_OK) return st;
    return guarded([&]() -> int32_t {
        nms::Ranked r;
        candidates(scores, n, score_threshold, r.global);
        nms::rank_candidates(class_ids, class_agnostic != 0, r);
#ifdef NMS_BAD_TOPK_FIRST
        // Known-bad: the top-k is taken BEFORE the NMS walk, so suppressed boxes use up the budget.
        if (max_detections >= 0 && static_cast<int64_t>(r.global.size()) > max_detections) {
            r.global.resize(static_cast<size_t>(max_detections));
            nms::rank_candidates(class_ids, class_agnostic != 0, r);
        }
#endif
        nms::Scratch scratch;
        std::vector<uint8_t> kept(static_cast<size_t>(n), 0u);
        for (size_t g = 0; g + 1 < r.starts.size(); ++g) {
            const uint64_t *keys = r.grouped.data() + r.starts[g];
            const size_t m = r.starts[g + 1] - r.starts[g];
            scratch.boxes.resize(m);
            scratch.owner.resize(m);
            for (size_t k = 0; k < m; ++k) {
                const float *p = boxes + 4 * static_cast<int64_t>(nms::index_of(keys[k]));
                scratch.boxes[k] = nms::make_box(p[0], p[1], p[2], p[3]);
            }
            // The global top-K holds at most K keepers of any one group.
            nms::assign_keepers(scratch.boxes.data(), m, nms::Metric::IoU, iou_threshold, false, max_detections,
                                scratch.owner.data(), scratch);
            for (size_t k = 0; k < m; ++k)
                if (scratch.owner[k] == -1) kept[static_cast<size_t>(nms::index_of(keys[k]))] = 1u;
        }
        const size_t count = emit_in_rank_order(r, kept, max_detections, out_keep);
#ifdef NMS_BAD_OOB
        // Known-bad variant for the sanitizer self-test: writes one element past the caller's buffer.
        out_keep[out_capacity] = -1;
#endif
        *out_count = static_cast<int64_t>(count);
        return NMS_OK;
    });
}

int32_t nms_merge_tiles(const float *boxes, const float *scores, const int32_t *class_ids,
                        const int32_t *tile_ids, int64_t n, const float *tile_offsets, int64_t n_tiles,
                        int32_t method, int32_t metric, double threshold, int32_t class_agnostic,
                        float *out_boxes, float *out_scores, int32_t *out_class_ids, int64_t *out_keep,
                        int64_t out_capacity, int64_t *out_count, int64_t *out_bad_index) {
    if (out_bad_index == nullptr) return NMS_ERR_NULL_POINTER;
    *out_bad_index = -1;
    if (boxes == nullptr || scores == nullptr || tile_ids == nullptr || tile_offsets == nullptr ||
        out_boxes == nullptr || out_scores == nullptr || out_class_ids == nullptr || out_keep == nullptr ||
        out_count == nullptr)
        return NMS_ERR_NULL_POINTER;
    if (check_count(n, NMS_MAX_BOXES) != NMS_OK || check_count(n_tiles, NMS_MAX_TILES) != NMS_OK)
        return NMS_ERR_BAD_COUNT;
    if (out_capacity < n) return NMS_ERR_CAPACITY;
    if (method != NMS_METHOD_NMS && method != NMS_METHOD_GREEDY_NMM) return NMS_ERR_BAD_METHOD;
    if (metric != NMS_METRIC_IOU && metric != NMS_METRIC_IOS) return NMS_ERR_BAD_METRIC;
    if (!valid_threshold(threshold)) return NMS_ERR_BAD_THRESHOLD;
    for (int64_t t = 0; t < n_tiles; ++t) {
        if (!std::isfinite(tile_offsets[2 * t]) || !std::isfinite(tile_offsets[2 * t + 1])) {
            *out_bad_index = t;
            return NMS_ERR_NONFINITE_OFFSET;
        }
    }
    return guarded([&]() -> int32_t {
        std::vector<Box> frame(static_cast<size_t>(n));
        int32_t status = NMS_OK;
        for (int64_t i = 0; i < n; ++i) {
            int32_t st = check_box(boxes, scores, i);
            if (st == NMS_OK && (tile_ids[i] < 0 || tile_ids[i] >= n_tiles)) st = NMS_ERR_BAD_TILE_ID;
            if (st == NMS_OK) {
                const float ox = tile_offsets[2 * tile_ids[i]], oy = tile_offsets[2 * tile_ids[i] + 1];
                // float32 sums as the contract says (the Makefile forbids contraction; SSE/NEON have no excess precision).
                const float x1 = boxes[4 * i] + ox, y1 = boxes[4 * i + 1] + oy;
                const float x2 = boxes[4 * i + 2] + ox, y2 = boxes[4 * i + 3] + oy;
                if (!std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2))
                    st = NMS_ERR_NONFINITE_BOX;
                else
                    frame[static_cast<size_t>(i)] = nms::make_box(x1, y1, x2, y2);
            }
            if (st != NMS_OK) {
                *out_bad_index = i;
                status = st;
#ifndef NMS_BAD_LAST_INDEX
                break;
#endif
            }
        }
        if (status != NMS_OK) return status;
        const nms::Metric mt = metric == NMS_METRIC_IOU ? nms::Metric::IoU : nms::Metric::IoS;
        const bool nmm = method == NMS_METHOD_GREEDY_NMM;
        nms::Ranked r;
        r.global.resize(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) r.global[static_cast<size_t>(i)] = nms::rank_key(scores[i], static_cast<int32_t>(i));
        nms::rank_candidates(class_ids, class_agnostic != 0, r);
        nms::Scratch scratch;
        std::vector<uint8_t> kept(static_cast<size_t>(n), 0u);
        std::vector<Box> fused(static_cast<size_t>(n));  // by input index: each keeper's output box
        for (size_t g = 0; g + 1 < r.starts.size(); ++g) {
            const uint64_t *keys = r.grouped.data() + r.starts[g];
            const size_t m = r.starts[g + 1] - r.starts[g];
            scratch.boxes.resize(m);
            scratch.owner.resize(m);
            for (size_t k = 0; k < m; ++k) scratch.boxes[k] = frame[static_cast<size_t>(nms::index_of(keys[k]))];
            nms::assign_keepers(scratch.boxes.data(), m, mt, threshold, nmm, NMS_UNLIMITED, scratch.owner.data(),
                                scratch);
            for (size_t k = 0; k < m; ++k) {
                const int32_t o = scratch.owner[k];
                if (o == -1) {
                    kept[static_cast<size_t>(nms::index_of(keys[k]))] = 1u;
                    fused[static_cast<size_t>(nms::index_of(keys[k]))] = scratch.boxes[k];
                } else if (nmm && o >= 0) {
                    // Members come after their keeper in rank order, so this forward pass fuses in rank order.
                    Box &f = fused[static_cast<size_t>(nms::index_of(keys[static_cast<size_t>(o)]))];
                    const Box &c = scratch.boxes[k];
                    if (nms::matches(f, c, mt, threshold))
                        f = nms::make_box(std::min(f.x1, c.x1), std::min(f.y1, c.y1), std::max(f.x2, c.x2),
                                          std::max(f.y2, c.y2));
                }
            }
        }
        const size_t count = emit_in_rank_order(r, kept, NMS_UNLIMITED, out_keep);
        for (size_t k = 0; k < count; ++k) {
            const int32_t i = static_cast<int32_t>(out_keep[k]);
            const Box &b = fused[static_cast<size_t>(i)];
            out_boxes[4 * k] = b.x1;
            out_boxes[4 * k + 1] = b.y1;
            out_boxes[4 * k + 2] = b.x2;
            out_boxes[4 * k + 3] = b.y2;
            out_scores[k] = scores[i];
            out_class_ids[k] = class_ids ? class_ids[i] : 0;
        }
        *out_count = static_cast<int64_t>(count);
        return NMS_OK;
    });
}

}  // extern "C"
