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
using nms::Candidate;

bool valid_threshold(double t) { return t >= 0.0 && t <= 1.0; }  // false for NaN

int32_t check_count(int64_t n, int64_t max) { return (n < 0 || n > max) ? NMS_ERR_BAD_COUNT : NMS_OK; }

/// Per-box checks in contract order; returns NMS_OK or the status for box i.
int32_t check_box(const float *b, const float *scores, int64_t i) {
    const float x1 = b[4 * i], y1 = b[4 * i + 1], x2 = b[4 * i + 2], y2 = b[4 * i + 3];
    if (!std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2))
        return NMS_ERR_NONFINITE_BOX;
    if (x2 < x1 || y2 < y1) return NMS_ERR_INVERTED_BOX;
    if (!std::isfinite(scores[i])) return NMS_ERR_NONFINITE_SCORE;
    return NMS_OK;
}

/// Keeps the rank order across buckets: merge kept input indices by the contract's rank.
void sort_by_rank(std::vector<Candidate> &kept) {
    nms::sort_by_rank_key(
        kept, [](const Candidate &c) { return static_cast<uint64_t>(nms::descending_score_key(c.score)); },
        [](const Candidate &c) { return c.index; });
}

template <class F>
int32_t guarded(F f) {
    try {
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
    for (int64_t i = 0; i < n; ++i) {
        const int32_t st = check_box(boxes, scores, i);
        if (st != NMS_OK) {
            *out_bad_index = i;
            return st;
        }
    }
    return guarded([&]() -> int32_t {
        std::vector<Candidate> cands;
        cands.reserve(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            if (static_cast<double>(scores[i]) > score_threshold)
                cands.push_back(Candidate{class_ids ? class_ids[i] : 0, scores[i], static_cast<int32_t>(i)});
        }
        const bool agnostic = class_agnostic != 0;
        const std::vector<size_t> starts = nms::bucket_in_rank_order(cands, agnostic);
        std::vector<Candidate> kept;
        std::vector<Box> bucket;
        std::vector<int64_t> owner;
        for (size_t b = 0; b + 1 < starts.size(); ++b) {
            bucket.clear();
            for (size_t k = starts[b]; k < starts[b + 1]; ++k) {
                const float *p = boxes + 4 * static_cast<int64_t>(cands[k].index);
                bucket.push_back(nms::make_box(p[0], p[1], p[2], p[3]));
            }
            // The global top-K holds at most K keepers of any one bucket.
            nms::assign_keepers(bucket, nms::Metric::IoU, iou_threshold, false, max_detections, owner);
            for (size_t k = 0; k < bucket.size(); ++k)
                if (owner[k] == -1) kept.push_back(cands[starts[b] + k]);
        }
        sort_by_rank(kept);
        size_t m = kept.size();
        if (max_detections >= 0) m = std::min(m, static_cast<size_t>(max_detections));
        for (size_t k = 0; k < m; ++k) out_keep[k] = kept[k].index;
#ifdef NMS_BAD_OOB
        // Known-bad variant for the sanitizer self-test: writes one element past the caller's buffer.
        out_keep[out_capacity] = -1;
#endif
        *out_count = static_cast<int64_t>(m);
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
                return st;
            }
        }
        const nms::Metric mt = metric == NMS_METRIC_IOU ? nms::Metric::IoU : nms::Metric::IoS;
        const bool nmm = method == NMS_METHOD_GREEDY_NMM;
        std::vector<Candidate> cands(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
            cands[static_cast<size_t>(i)] = Candidate{class_ids ? class_ids[i] : 0, scores[i], static_cast<int32_t>(i)};
        const std::vector<size_t> starts = nms::bucket_in_rank_order(cands, class_agnostic != 0);

        struct Result {
            Candidate keeper;
            Box box;
        };
        std::vector<Result> results;
        std::vector<Box> bucket;
        std::vector<int64_t> owner;
        std::vector<Box> fused;
        for (size_t b = 0; b + 1 < starts.size(); ++b) {
            const size_t s0 = starts[b], s1 = starts[b + 1];
            bucket.clear();
            for (size_t k = s0; k < s1; ++k) bucket.push_back(frame[static_cast<size_t>(cands[k].index)]);
            nms::assign_keepers(bucket, mt, threshold, nmm, NMS_UNLIMITED, owner);
            // Members come after their keeper in rank order, so one forward pass fuses in rank order.
            fused = bucket;
            for (size_t k = 0; k < bucket.size(); ++k) {
                const int64_t o = owner[k];
                if (!nmm || o < 0) continue;
                Box &m = fused[static_cast<size_t>(o)];
                const Box &c = bucket[k];
                if (nms::matches(m, c, mt, threshold))
                    m = nms::make_box(std::min(m.x1, c.x1), std::min(m.y1, c.y1), std::max(m.x2, c.x2),
                                      std::max(m.y2, c.y2));
            }
            for (size_t k = 0; k < bucket.size(); ++k)
                if (owner[k] == -1) results.push_back(Result{cands[s0 + k], fused[k]});
        }
        nms::sort_by_rank_key(
            results, [](const Result &r) { return static_cast<uint64_t>(nms::descending_score_key(r.keeper.score)); },
            [](const Result &r) { return r.keeper.index; });
        for (size_t k = 0; k < results.size(); ++k) {
            const Result &r = results[k];
            out_boxes[4 * k] = r.box.x1;
            out_boxes[4 * k + 1] = r.box.y1;
            out_boxes[4 * k + 2] = r.box.x2;
            out_boxes[4 * k + 3] = r.box.y2;
            out_scores[k] = r.keeper.score;
            out_class_ids[k] = r.keeper.cls;
            out_keep[k] = r.keeper.index;
        }
        *out_count = static_cast<int64_t>(results.size());
        return NMS_OK;
    });
}

}  // extern "C"
