// Grouping in rank order and the greedy keeper walk.
//
// Why this shape: a detector's candidates fall into many small groups ((image, class) pairs) of which few
// boxes survive, so the work is (1) putting candidates in rank order per group: a counting sort by class
// then a sort of 64-bit keys (score key, index) inside each group, and (2) comparing each candidate with
// the group's keepers, cheap while they are few. When a group keeps many boxes (sparse scenes), the walk
// switches to a uniform grid of the keepers: two matching boxes overlap, so they share a grid cell, and
// a candidate is compared only with the keepers registered in the cells it covers (about linear after
// the sort, where OpenCV and torchvision compare every candidate with every keeper).
#include "nms_core.hpp"

#include <cmath>

namespace nms {

/// Stable LSD radix sort of keys by their high 32 bits (the score key): 11, 11 and 10-bit digits, a digit
/// every key shares skipped. The input is in index order, so stability gives the lower-index tie rule.
void radix_sort_by_score(std::vector<uint64_t> &a, std::vector<uint64_t> &tmp) {
    const size_t n = a.size();
    if (n <= 64) {  // small: the comparison sort is cheaper than three histograms
        std::sort(a.begin(), a.end());
        return;
    }
    static constexpr int kShift[3] = {32, 43, 54};
    static constexpr uint64_t kMask[3] = {2047u, 2047u, 1023u};
    std::vector<uint32_t> hist(3 * 2048, 0u);
    for (uint64_t x : a)
        for (int d = 0; d < 3; ++d) ++hist[static_cast<size_t>(d) * 2048u + ((x >> kShift[d]) & kMask[d])];
    tmp.resize(n);
    uint64_t *src = a.data(), *dst = tmp.data();
    for (int d = 0; d < 3; ++d) {
        uint32_t *h = hist.data() + static_cast<size_t>(d) * 2048u;
        const uint64_t first = (src[0] >> kShift[d]) & kMask[d];
        if (h[first] == n) continue;  // every key has this digit: nothing to move
        uint32_t sum = 0;
        for (size_t b = 0; b <= kMask[d]; ++b) {
            const uint32_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; ++i) dst[h[(src[i] >> kShift[d]) & kMask[d]]++] = src[i];
        std::swap(src, dst);
    }
    if (src != a.data()) std::copy(src, src + n, a.data());
}

void rank_candidates(const int32_t *class_ids, bool class_agnostic, Ranked &r) {
    const size_t m = r.global.size();
#if defined(NMS_BAD_UNSTABLE)
    // An unstable sort on the score alone: equal scores come out in no particular order.
    std::sort(r.global.begin(), r.global.end(), [](uint64_t a, uint64_t b) { return (a >> 32) < (b >> 32); });
#elif defined(NMS_BAD_INPUT_ORDER)
    std::sort(r.global.begin(), r.global.end(), [](uint64_t a, uint64_t b) { return index_of(a) < index_of(b); });
#else
    radix_sort_by_score(r.global, r.tmp);
#endif
    r.starts.assign(1, 0);
    if (m == 0) {
        r.grouped.clear();
        return;
    }
    if (class_agnostic || class_ids == nullptr) {
        r.grouped = r.global;
        r.starts.push_back(m);
        return;
    }
    r.grouped.resize(m);
    int32_t lo = class_ids[index_of(r.global[0])], hi = lo;
    for (uint64_t key : r.global) {
        const int32_t c = class_ids[index_of(key)];
        lo = std::min(lo, c);
        hi = std::max(hi, c);
    }
    const uint64_t range = static_cast<uint64_t>(static_cast<int64_t>(hi) - static_cast<int64_t>(lo)) + 1u;
    if (range <= 2u * m + 1024u) {
        // Stable counting sort by class: each group keeps the rank order.
        std::vector<uint32_t> next(static_cast<size_t>(range) + 1u, 0u);
        for (uint64_t key : r.global) ++next[static_cast<size_t>(class_ids[index_of(key)] - lo) + 1u];
        for (size_t c = 1; c <= range; ++c) {
            if (next[c] != 0u) r.starts.push_back(r.starts.back() + next[c]);
            next[c] += next[c - 1];
        }
        for (uint64_t key : r.global) r.grouped[next[static_cast<size_t>(class_ids[index_of(key)] - lo)]++] = key;
    } else {
        // Sparse class ids: sort (class, rank position) pairs instead.
        std::vector<uint64_t> by_class(m);
        for (size_t k = 0; k < m; ++k)
            by_class[k] = (static_cast<uint64_t>(static_cast<uint32_t>(class_ids[index_of(r.global[k])]) ^ 0x80000000u)
                           << 32) | k;
        std::sort(by_class.begin(), by_class.end());
        for (size_t k = 0; k < m; ++k) {
            r.grouped[k] = r.global[static_cast<size_t>(by_class[k] & 0xffffffffu)];
            if (k > 0 && (by_class[k] >> 32) != (by_class[k - 1] >> 32)) r.starts.push_back(k);
        }
        r.starts.push_back(m);
    }
}

namespace {

/// Uniform grid over one group's extent; each cell holds a singly linked list of keeper positions.
class KeeperGrid {
public:
    KeeperGrid(const Box *boxes, size_t n) {
        double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
        double sumw = 0.0, sumh = 0.0;
        for (size_t k = 0; k < n; ++k) {
            const Box &b = boxes[k];
            minx = std::min(minx, static_cast<double>(b.x1));
            miny = std::min(miny, static_cast<double>(b.y1));
            maxx = std::max(maxx, static_cast<double>(b.x2));
            maxy = std::max(maxy, static_cast<double>(b.y2));
            sumw += static_cast<double>(b.x2) - static_cast<double>(b.x1);
            sumh += static_cast<double>(b.y2) - static_cast<double>(b.y1);
        }
        const double count = static_cast<double>(std::max<size_t>(n, 1));
        // Cells about the mean box size (a box spans about 4 cells), at most ~1 cell per box: measured
        // faster than twice the size on dense crowds (fewer keepers per cell), the same on sparse scenes.
        gx_ = dims(maxx - minx, sumw / count);
        gy_ = dims(maxy - miny, sumh / count);
        const double cap = count + 16.0;
        const double cells = static_cast<double>(gx_) * static_cast<double>(gy_);
        if (cells > cap) {
            const double f = std::sqrt(cap / cells);
            gx_ = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(gx_) * f));
            gy_ = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(gy_) * f));
        }
        minx_ = minx;
        miny_ = miny;
        sx_ = (gx_ > 1) ? static_cast<double>(gx_) / (maxx - minx) : 0.0;
        sy_ = (gy_ > 1) ? static_cast<double>(gy_) / (maxy - miny) : 0.0;
        cells_.assign(static_cast<size_t>(gx_ * gy_), Cell{-1, -1});
    }

    struct Span {
        int64_t cx0, cx1, cy0, cy1;
        int64_t cells() const { return (cx1 - cx0 + 1) * (cy1 - cy0 + 1); }
    };

    // Monotone in the coordinate, so overlapping boxes get overlapping spans.
    Span span(const Box &b) const {
        return Span{cell(b.x1, minx_, sx_, gx_), cell(b.x2, minx_, sx_, gx_), cell(b.y1, miny_, sy_, gy_),
                    cell(b.y2, miny_, sy_, gy_)};
    }

    void insert(int32_t pos, const Span &s) {
        if (s.cells() > kBigCells) {
            big_.push_back(pos);
            return;
        }
#ifdef NMS_BAD_GRID_CORNER
        // Known-bad: registers a keeper only in the cell of its top-left corner (queries still span).
        for (int64_t cy = s.cy0; cy <= s.cy0; ++cy) {
            for (int64_t cx = s.cx0; cx <= s.cx0; ++cx) {
#else
        for (int64_t cy = s.cy0; cy <= s.cy1; ++cy) {
            for (int64_t cx = s.cx0; cx <= s.cx1; ++cx) {
#endif
                // Append at the tail: a cell lists its keepers oldest (highest score) first, the ones
                // most likely to suppress a candidate, so the early exit comes sooner.
                const size_t c = static_cast<size_t>(cy * gx_ + cx);
                const int32_t e = static_cast<int32_t>(entries_.size());
                entries_.push_back(Entry{pos, -1});
                Cell &cell = cells_[c];
                if (cell.tail < 0)
                    cell.head = e;
                else
                    entries_[static_cast<size_t>(cell.tail)].next = e;
                cell.tail = e;
            }
        }
    }

    /// Calls f(keeper_pos) for every keeper that may overlap span s (possibly more than once);
    /// stops early when f returns true.
    template <class F>
    void visit(const Span &s, const std::vector<int32_t> &all_keepers, F f) const {
        if (s.cells() > static_cast<int64_t>(all_keepers.size())) {
            for (int32_t k : all_keepers)
                if (f(k)) return;
            return;
        }
        for (int32_t k : big_)
            if (f(k)) return;
        for (int64_t cy = s.cy0; cy <= s.cy1; ++cy) {
            for (int64_t cx = s.cx0; cx <= s.cx1; ++cx) {
                for (int32_t e = cells_[static_cast<size_t>(cy * gx_ + cx)].head; e >= 0;
                     e = entries_[static_cast<size_t>(e)].next) {
                    if (f(entries_[static_cast<size_t>(e)].pos)) return;
                }
            }
        }
    }

private:
    static constexpr int64_t kBigCells = 64;
    static constexpr double kMaxDim = 4096.0;

    static int64_t dims(double extent, double mean) {
        if (!(extent > 0.0) || !(mean > 0.0)) return 1;
        const double g = std::min(kMaxDim, std::max(1.0, std::floor(extent / mean)));
        return static_cast<int64_t>(g);
    }

    static int64_t cell(float v, double lo, double scale, int64_t g) {
        const double t = (static_cast<double>(v) - lo) * scale;  // >= 0 for every box of the group
        const int64_t c = t < static_cast<double>(g) ? static_cast<int64_t>(t) : g - 1;
        return std::min<int64_t>(std::max<int64_t>(c, 0), g - 1);
    }

    int64_t gx_ = 1, gy_ = 1;
    double minx_ = 0.0, miny_ = 0.0, sx_ = 0.0, sy_ = 0.0;
    // int32 links keep the grid small enough to stay in cache (counts are <= NMS_MAX_BOXES = 2^24).
    struct Cell {
        int32_t head, tail;
    };
    struct Entry {
        int32_t pos, next;
    };
    std::vector<Cell> cells_;
    std::vector<Entry> entries_;
    std::vector<int32_t> big_;
};

/// Keepers compared one by one up to this many; past it (and with enough of the group left) the grid.
/// A detector's (image, class) groups rarely keep more; a dense crowd or a sparse scene does at once.
#ifdef NMS_BAD_NO_GRID
constexpr size_t kGridAfter = SIZE_MAX;  // the n x kept walk of OpenCV and torchvision
#else
constexpr size_t kGridAfter = 16;
#endif

}  // namespace

namespace {

template <Metric metric, bool first_match>
void assign_keepers_with(const Box *boxes, size_t n, double thr, int64_t max_keep, int32_t *owner,
                         Scratch &scratch) {
    std::fill(owner, owner + n, -2);
    if (n == 0 || max_keep == 0) return;
    int64_t kept = 0;
    // The keepers a candidate is compared with, copied in rank order (contiguous: the inner loop streams
    // them). Zero-area keepers never match, so they are left out.
    std::vector<Box> &cmp = scratch.kept;
    std::vector<int32_t> &pos = scratch.kept_pos;
    cmp.clear();
    pos.clear();
    size_t k = 0;
    for (; k < n; ++k) {
        if (cmp.size() >= kGridAfter && n - k > 2 * kGridAfter) break;
        const Box &b = boxes[k];
        int32_t found = -1;
        if (b.area > 0.0) {
            // The first match in rank order is the first keeper in rank order that matches.
            const size_t count = cmp.size();
            for (size_t j = 0; j < count; ++j) {
                if (matches_with<metric>(cmp[j], b, thr)) {
                    found = pos[j];
                    break;
                }
            }
        }
        owner[k] = found;
#ifdef NMS_BAD_FAST_NMS
        // "Fast NMS": suppressed boxes suppress too (every earlier box is compared, kept or not).
        if (b.area > 0.0) {
            cmp.push_back(b);
            pos.push_back(static_cast<int32_t>(k));
        }
#endif
        if (found < 0) {
#ifndef NMS_BAD_FAST_NMS
            if (b.area > 0.0) {
                cmp.push_back(b);
                pos.push_back(static_cast<int32_t>(k));
            }
#endif
            if (++kept == max_keep) return;
        }
    }
    if (k == n) return;
    KeeperGrid grid(boxes, n);
    std::vector<int32_t> &seen = scratch.seen;
    seen.assign(n, -1);
    for (int32_t p : pos) grid.insert(p, grid.span(boxes[p]));
    for (; k < n; ++k) {
        const Box &b = boxes[k];
        int32_t found = -1;
        KeeperGrid::Span s{};
        if (b.area > 0.0) {  // a zero-area box never matches nor is matched (inter == 0)
            s = grid.span(b);
            const int32_t me = static_cast<int32_t>(k);
            grid.visit(s, pos, [&](int32_t kp) {
                if (seen[static_cast<size_t>(kp)] == me) return false;  // listed in several cells: test once
                seen[static_cast<size_t>(kp)] = me;
                if ((found < 0 || kp < found) && matches_with<metric>(boxes[kp], b, thr)) {
                    found = kp;
                    return !first_match;
                }
                return false;
            });
        }
        owner[k] = found;
#ifdef NMS_BAD_FAST_NMS
        if (b.area > 0.0) {
            pos.push_back(static_cast<int32_t>(k));
            grid.insert(static_cast<int32_t>(k), s);
        }
#endif
        if (found < 0) {
#ifndef NMS_BAD_FAST_NMS
            if (b.area > 0.0) {
                pos.push_back(static_cast<int32_t>(k));
                grid.insert(static_cast<int32_t>(k), s);
            }
#endif
            if (++kept == max_keep) return;
        }
    }
}

}  // namespace

void assign_keepers(const Box *boxes, size_t n, Metric metric, double thr, bool first_match, int64_t max_keep,
                    int32_t *owner, Scratch &scratch) {
    if (metric == Metric::IoU) {
        if (first_match)
            assign_keepers_with<Metric::IoU, true>(boxes, n, thr, max_keep, owner, scratch);
        else
            assign_keepers_with<Metric::IoU, false>(boxes, n, thr, max_keep, owner, scratch);
    } else {
        if (first_match)
            assign_keepers_with<Metric::IoS, true>(boxes, n, thr, max_keep, owner, scratch);
        else
            assign_keepers_with<Metric::IoS, false>(boxes, n, thr, max_keep, owner, scratch);
    }
}

}  // namespace nms
