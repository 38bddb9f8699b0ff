// Internal algorithm of libnms_merger (no validation here: the extern "C" layer in nms_api.cpp has done
// it). The contract is written once, at the top of include/nms_merger.h.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace nms {

/// A frame box: float32 coordinates (what is returned) plus the double area of the contract.
struct Box {
    float x1, y1, x2, y2;
    double area;
};

enum class Metric { IoU, IoS };

/// One input box reduced to what the rank order needs.
struct Candidate {
    int32_t cls;
    float score;
    int32_t index;
};


/// Box with the contract's double area.
// (The three small predicates are inline: they sit in the innermost loops.)
inline Box make_box(float x1, float y1, float x2, float y2) {
    const double w = static_cast<double>(x2) - static_cast<double>(x1);
    const double h = static_cast<double>(y2) - static_cast<double>(y1);
    return Box{x1, y1, x2, y2, w * h};
}

/// The contract's match predicate (symmetric in a and b).
inline bool matches(const Box &a, const Box &b, Metric metric, double thr) {
    const double w = std::max(0.0, std::min(static_cast<double>(a.x2), static_cast<double>(b.x2)) -
                                       std::max(static_cast<double>(a.x1), static_cast<double>(b.x1)));
    const double h = std::max(0.0, std::min(static_cast<double>(a.y2), static_cast<double>(b.y2)) -
                                       std::max(static_cast<double>(a.y1), static_cast<double>(b.y1)));
    const double inter = w * h;
    const double denom =
        metric == Metric::IoU ? (a.area + b.area) - inter : std::min(a.area, b.area);
#ifdef NMS_BAD_GE
    // Known-bad variant for the conformance self-tests: ">=" instead of the contract's ">".
    return inter >= thr * denom;
#else
    return inter > thr * denom;
#endif
}

/// Contract rank order: score descending, then lower input index (NMS_BAD_UNSTABLE drops the tie rule).
inline bool rank_before(const Candidate &a, const Candidate &b) {
    if (a.score != b.score) return a.score > b.score;
#ifdef NMS_BAD_UNSTABLE
    // Known-bad variant: no tie rule, so std::sort leaves equal scores in an unspecified order.
    return false;
#else
    return a.index < b.index;
#endif
}

/// Sorts candidates into buckets (one per class, or one bucket when agnostic), each in rank order;
/// returns the bucket boundaries [starts[k], starts[k+1]).
std::vector<std::size_t> bucket_in_rank_order(std::vector<Candidate> &cands, bool class_agnostic);

/// For one bucket in rank order (boxes[k] is the box of the k-th candidate), sets owner[k] = -1 when the
/// k-th box is a keeper, else the position of the first keeper in rank order that matches it. When
/// first_match is false any matching keeper may be reported (plain NMS needs only "matched or not").
/// Stops after max_keep keepers (the rest get owner = -2, "not reached"); max_keep < 0 means no limit.
void assign_keepers(const std::vector<Box> &boxes, Metric metric, double thr, bool first_match,
                    int64_t max_keep, std::vector<int64_t> &owner);

}  // namespace nms
