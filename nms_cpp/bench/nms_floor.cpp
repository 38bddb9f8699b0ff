// The floor probe of the NMS benchmarks (build/libnms_floor.so, never shipped): times in C++ the work any
// greedy NMS must do at least on an input. Each figure is the best of `reps` repetitions in nanoseconds,
// with no Python in the timed regions:
//   out_ns[0] std_sort  the candidates' 64-bit rank keys (score key, index) sorted with std::sort
//   out_ns[1] radix     the same keys sorted with the library's stable radix sort
//   out_ns[2] pass      one IoU test per candidate (each box with the next, the contract's arithmetic)
// The floor is the faster sort plus the pass: sorting the candidates plus one pass of IoU tests.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "nms_core.hpp"
#include "nms_merger.h"

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
double best_ns(int32_t reps, F f) {
    double best = 1e300;
    for (int32_t r = 0; r < reps; ++r) {
        const Clock::time_point t0 = Clock::now();
        f();
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
        best = std::min(best, static_cast<double>(ns));
    }
    return best;
}

}  // namespace

extern "C" int32_t nms_floor_probe(const float *boxes, const float *scores, int64_t n, double iou, int32_t reps,
                                   double *out_ns, int64_t *out_checksum) {
    if (boxes == nullptr || scores == nullptr || out_ns == nullptr || out_checksum == nullptr)
        return NMS_ERR_NULL_POINTER;
    if (n < 1 || n > NMS_MAX_BOXES || reps < 1) return NMS_ERR_BAD_COUNT;
    if (!(iou >= 0.0 && iou <= 1.0)) return NMS_ERR_BAD_THRESHOLD;
    const size_t m = static_cast<size_t>(n);
    std::vector<uint64_t> keys(m), tmp;
    std::vector<nms::Box> b(m);
    int64_t checksum = 0;
    out_ns[0] = best_ns(reps, [&] {
        for (size_t i = 0; i < m; ++i) keys[i] = nms::rank_key(scores[i], static_cast<int32_t>(i));
        std::sort(keys.begin(), keys.end());
        checksum += nms::index_of(keys[0]);
    });
    out_ns[1] = best_ns(reps, [&] {
        for (size_t i = 0; i < m; ++i) keys[i] = nms::rank_key(scores[i], static_cast<int32_t>(i));
        nms::radix_sort_by_score(keys, tmp);
        checksum += nms::index_of(keys[0]);
    });
    out_ns[2] = best_ns(reps, [&] {
        for (size_t i = 0; i < m; ++i) {
            const float *p = boxes + 4 * i;
            b[i] = nms::make_box(p[0], p[1], p[2], p[3]);
        }
        int64_t hits = 0;
        for (size_t i = 0; i + 1 < m; ++i) hits += nms::matches(b[i], b[i + 1], nms::Metric::IoU, iou) ? 1 : 0;
        checksum += hits;
    });
    *out_checksum = checksum;  // the caller keeps it, so no timed loop can be optimised away
    return NMS_OK;
}
