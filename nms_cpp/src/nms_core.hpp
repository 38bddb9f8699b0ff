// Internal algorithm of libnms_merger (no validation here: the extern "C" layer in nms_api.cpp has done
// it). The contract is written once, at the top of include/nms_merger.h.
//
// Known-bad builds (-DNMS_BAD_*, see the Makefile) each plant one classic NMS bug here or in nms_api.cpp,
// so that the conformance checks can prove they fail; the release build defines none of them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace nms {

/// A frame box: float32 coordinates (what is returned) plus the double area of the contract.
struct Box {
    float x1, y1, x2, y2;
    double area;
};

enum class Metric { IoU, IoS };

// The small helpers below are inline: they sit in the innermost loops.

/// Box with the contract's double area.
inline Box make_box(float x1, float y1, float x2, float y2) {
    const double w = static_cast<double>(x2) - static_cast<double>(x1);
    const double h = static_cast<double>(y2) - static_cast<double>(y1);
#ifdef NMS_BAD_PLUS_ONE
    return Box{x1, y1, x2, y2, (w + 1.0) * (h + 1.0)};  // the legacy "+1 pixel" convention
#else
    return Box{x1, y1, x2, y2, w * h};
#endif
}

/// The contract's match predicate (symmetric in a and b); the metric as a template argument for the
/// inner loops, see `matches` below for a run-time one.
template <Metric metric>
inline bool matches_with(const Box &a, const Box &b, double thr) {
#ifdef NMS_BAD_PLUS_ONE
    const double w = std::max(0.0, std::min(static_cast<double>(a.x2), static_cast<double>(b.x2)) -
                                       std::max(static_cast<double>(a.x1), static_cast<double>(b.x1)) + 1.0);
    const double h = std::max(0.0, std::min(static_cast<double>(a.y2), static_cast<double>(b.y2)) -
                                       std::max(static_cast<double>(a.y1), static_cast<double>(b.y1)) + 1.0);
#else
    // No positive overlap on an axis means inter == 0, which never matches (inter > thr * x, x >= 0):
    // a float comparison rejects most pairs before any double arithmetic, with the same decision.
    if (!(std::min(a.x2, b.x2) > std::max(a.x1, b.x1)) || !(std::min(a.y2, b.y2) > std::max(a.y1, b.y1)))
        return false;
    const double w = std::min(static_cast<double>(a.x2), static_cast<double>(b.x2)) -
                     std::max(static_cast<double>(a.x1), static_cast<double>(b.x1));
    const double h = std::min(static_cast<double>(a.y2), static_cast<double>(b.y2)) -
                     std::max(static_cast<double>(a.y1), static_cast<double>(b.y1));
#endif
    const double inter = w * h;
    const double denom = metric == Metric::IoU ? (a.area + b.area) - inter : std::min(a.area, b.area);
#ifdef NMS_BAD_GE
    return inter >= thr * denom;  // ">=" instead of the contract's ">"
#else
    return inter > thr * denom;
#endif
}

inline bool matches(const Box &a, const Box &b, Metric metric, double thr) {
    return metric == Metric::IoU ? matches_with<Metric::IoU>(a, b, thr) : matches_with<Metric::IoS>(a, b, thr);
}

/// An unsigned key whose ascending order is the descending order of finite float scores (-0 == +0).
inline uint32_t descending_score_key(float score) {
#ifndef NMS_BAD_NEG_ZERO
    if (score == 0.0f) score = 0.0f;  // one key for -0 and +0, as float comparison has it
#endif
    uint32_t u;
    std::memcpy(&u, &score, sizeof u);
    const uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ~ascending;
}

/// The rank key of input box `index`: ascending order = score descending, then lower index first.
inline uint64_t rank_key(float score, int32_t index) {
#ifdef NMS_BAD_INPUT_ORDER
    (void)score;  // forgets to sort by score: walks the candidates in input order
    return static_cast<uint32_t>(index);
#else
    return (static_cast<uint64_t>(descending_score_key(score)) << 32) | static_cast<uint32_t>(index);
#endif
}

inline int32_t index_of(uint64_t key) { return static_cast<int32_t>(key & 0xffffffffu); }

/// Candidates in rank order, and grouped by class (one group when agnostic), each group in rank order.
struct Ranked {
    std::vector<uint64_t> global;   ///< rank keys in rank order (input: the candidates' keys, any order)
    std::vector<uint64_t> grouped;  ///< the same keys by class; group g is [starts[g], starts[g+1])
    std::vector<size_t> starts;
    std::vector<uint64_t> tmp;
};

/// Sorts rank keys given in ascending index order into rank order (stable radix sort on the score key).
void radix_sort_by_score(std::vector<uint64_t> &keys, std::vector<uint64_t> &tmp);

/// Sorts r.global into rank order, then fills r.grouped / r.starts (class_ids NULL: one class).
/// Keys are unique (the index is in them), so any correct sort gives the one rank order.
void rank_candidates(const int32_t *class_ids, bool class_agnostic, Ranked &r);

/// Scratch reused across the groups of one call (no allocation per group).
struct Scratch {
    std::vector<Box> boxes;
    std::vector<int32_t> owner;
    std::vector<Box> kept;      ///< the keepers a candidate is compared with, in rank order
    std::vector<int32_t> kept_pos;  ///< their positions in the group
    std::vector<int32_t> seen;  ///< grid walk: the candidate that last visited each keeper
};

/// For one group in rank order (boxes[k] is the k-th box), sets owner[k] = -1 when the k-th box is a
/// keeper, else the position of the first keeper in rank order that matches it (when first_match is
/// false, any matching keeper: plain NMS needs only "matched or not"). Stops after max_keep keepers
/// (the rest get owner = -2, "not reached"); max_keep < 0 means no limit.
void assign_keepers(const Box *boxes, size_t n, Metric metric, double thr, bool first_match, int64_t max_keep,
                    int32_t *owner, Scratch &scratch);

}  // namespace nms
