// Internal algorithm of libnms_merger (no validation here: the extern "C" layer in nms_api.cpp has done
// it). The contract is written once, at the top of include/nms_merger.h.
#pragma once

#include <cstddef>
#include <algorithm>
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

/// One input box reduced to what the rank order needs.
struct Candidate {
    int32_t cls;
    float score;
    int32_t index;
};

// The small helpers below are inline: they sit in the innermost loops.

/// Box with the contract's double area.
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

/// An unsigned key whose ascending order is the descending order of finite float scores (-0 == +0),
/// so the sorts compare integers instead of floats plus a tie rule.
inline uint32_t descending_score_key(float score) {
    if (score == 0.0f) score = 0.0f;  // one key for -0 and +0, as float comparison has it
    uint32_t u;
    std::memcpy(&u, &score, sizeof u);
    const uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ~ascending;
}

/// Sorts v by (primary(v[i]), index(v[i])) ascending: the rank order when primary holds the class
/// (if any) and descending_score_key. NMS_BAD_UNSTABLE drops the index, the contract's tie rule.
template <class T, class Primary, class Index>
void sort_by_rank_key(std::vector<T> &v, Primary primary, Index index) {
    struct Item {
        uint64_t primary;
        uint32_t index, pos;
    };
    std::vector<Item> items(v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
        items[i] = Item{primary(v[i]), static_cast<uint32_t>(index(v[i])), static_cast<uint32_t>(i)};
    std::sort(items.begin(), items.end(), [](const Item &a, const Item &b) {
#ifdef NMS_BAD_UNSTABLE
        return a.primary < b.primary;
#else
        return a.primary != b.primary ? a.primary < b.primary : a.index < b.index;
#endif
    });
    std::vector<T> sorted;
    sorted.reserve(v.size());
    for (const Item &it : items) sorted.push_back(v[it.pos]);
    v.swap(sorted);
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
