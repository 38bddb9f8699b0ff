// Greedy NMS / keeper assignment with a uniform grid of kept boxes.
//
// Why a grid: OpenCV and torchvision compare every candidate with every kept box (n x kept). A match
// needs a positive intersection (inter > thr * x with x >= 0), so two matching boxes share at least one
// grid cell; a candidate only has to be compared with the keepers registered in the cells it covers.
// On sparse scenes this makes the walk about linear after the O(n log n) sort.
#include "nms_core.hpp"

#include <algorithm>
#include <cmath>

namespace nms {

std::vector<size_t> bucket_in_rank_order(std::vector<Candidate> &cands, bool class_agnostic) {
    sort_by_rank_key(
        cands,
        [class_agnostic](const Candidate &c) {
            // Class in the high word (sign flipped so negative ids sort first), score key in the low.
            const uint64_t cls = class_agnostic ? 0u : (static_cast<uint32_t>(c.cls) ^ 0x80000000u);
            return (cls << 32) | descending_score_key(c.score);
        },
        [](const Candidate &c) { return c.index; });
    std::vector<size_t> starts;
    starts.push_back(0);
    for (size_t k = 1; k < cands.size(); ++k) {
        if (!class_agnostic && cands[k].cls != cands[k - 1].cls) starts.push_back(k);
    }
    starts.push_back(cands.size());
    if (cands.empty()) starts.resize(1);
    return starts;
}

namespace {

/// Uniform grid over one bucket's extent; each cell holds a singly linked list of keeper positions.
class KeeperGrid {
public:
    explicit KeeperGrid(const std::vector<Box> &boxes) {
        double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
        double sumw = 0.0, sumh = 0.0;
        for (const Box &b : boxes) {
            minx = std::min(minx, static_cast<double>(b.x1));
            miny = std::min(miny, static_cast<double>(b.y1));
            maxx = std::max(maxx, static_cast<double>(b.x2));
            maxy = std::max(maxy, static_cast<double>(b.y2));
            sumw += static_cast<double>(b.x2) - static_cast<double>(b.x1);
            sumh += static_cast<double>(b.y2) - static_cast<double>(b.y1);
        }
        const double n = static_cast<double>(std::max<size_t>(boxes.size(), 1));
        // Cells about twice the mean box size (a box spans 1 to 4 cells), at most ~1 cell per box.
        gx_ = dims(maxx - minx, 2.0 * sumw / n);
        gy_ = dims(maxy - miny, 2.0 * sumh / n);
        const double cap = n + 16.0;
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

    void insert(int64_t pos, const Span &s) {
        if (s.cells() > kBigCells) {
            big_.push_back(pos);
            return;
        }
        for (int64_t cy = s.cy0; cy <= s.cy1; ++cy) {
            for (int64_t cx = s.cx0; cx <= s.cx1; ++cx) {
                // Append at the tail: a cell lists its keepers oldest (highest score) first, the ones
                // most likely to suppress a candidate, so the early exit comes sooner.
                const size_t c = static_cast<size_t>(cy * gx_ + cx);
                const int32_t e = static_cast<int32_t>(entries_.size());
                entries_.push_back(Entry{static_cast<int32_t>(pos), -1});
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
    void visit(const Span &s, const std::vector<int64_t> &all_keepers, F f) const {
        if (s.cells() > static_cast<int64_t>(all_keepers.size())) {
            for (int64_t k : all_keepers)
                if (f(k)) return;
            return;
        }
        for (int64_t k : big_)
            if (f(k)) return;
        for (int64_t cy = s.cy0; cy <= s.cy1; ++cy) {
            for (int64_t cx = s.cx0; cx <= s.cx1; ++cx) {
                for (int32_t e = cells_[static_cast<size_t>(cy * gx_ + cx)].head; e >= 0;
                     e = entries_[static_cast<size_t>(e)].next) {
                    if (f(static_cast<int64_t>(entries_[static_cast<size_t>(e)].pos))) return;
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
        const double t = (static_cast<double>(v) - lo) * scale;  // >= 0 for every box of the bucket
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
    std::vector<int64_t> big_;
};

}  // namespace

void assign_keepers(const std::vector<Box> &boxes, Metric metric, double thr, bool first_match,
                    int64_t max_keep, std::vector<int64_t> &owner) {
    owner.assign(boxes.size(), -2);
    if (boxes.empty() || max_keep == 0) return;
    KeeperGrid grid(boxes);
    std::vector<int64_t> keepers;
    for (size_t k = 0; k < boxes.size(); ++k) {
        const Box &b = boxes[k];
        int64_t found = -1;
        // A zero-area box never matches nor is matched (inter == 0): always a keeper, never registered.
        const bool zero = !(b.area > 0.0);
        KeeperGrid::Span s{};
        if (!zero) {
            s = grid.span(b);
            grid.visit(s, keepers, [&](int64_t kp) {
                if ((found < 0 || kp < found) && matches(boxes[static_cast<size_t>(kp)], b, metric, thr)) {
                    found = kp;
                    return !first_match;
                }
                return false;
            });
        }
        owner[k] = found;
        if (found < 0) {
            keepers.push_back(static_cast<int64_t>(k));
            if (!zero) grid.insert(static_cast<int64_t>(k), s);
            if (max_keep > 0 && static_cast<int64_t>(keepers.size()) >= max_keep) return;
        }
    }
}

}  // namespace nms
