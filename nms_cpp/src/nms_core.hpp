// Internal algorithm of libnms_merger (no validation here: the extern "C" layer in nms_api.cpp has done
// it). The contract is written once, at the top of include/nms_merger.h.
#pragma once

#include <cstddef>
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

/// Contract rank order: score descending, then lower input index (NMS_BAD_UNSTABLE drops the tie rule).
bool rank_before(const Candidate &a, const Candidate &b);

/// Sorts candidates into buckets (one per class, or one bucket when agnostic), each in rank order;
/// returns the bucket boundaries [starts[k], starts[k+1]).
std::vector<std::size_t> bucket_in_rank_order(std::vector<Candidate> &cands, bool class_agnostic);

/// For one bucket in rank order (boxes[k] is the box of the k-th candidate), sets owner[k] = -1 when the
/// k-th box is a keeper, else the position of the first keeper in rank order that matches it. When
/// first_match is false any matching keeper may be reported (plain NMS needs only "matched or not").
/// Stops after max_keep keepers (the rest get owner = -2, "not reached"); max_keep < 0 means no limit.
void assign_keepers(const std::vector<Box> &boxes, Metric metric, double thr, bool first_match,
                    int64_t max_keep, std::vector<int64_t> &owner);

/// The contract's match predicate.
bool matches(const Box &a, const Box &b, Metric metric, double thr);

/// Box with the contract's double area.
Box make_box(float x1, float y1, float x2, float y2);

}  // namespace nms
