"""The matching steps of ByteTrack as supervision computes them: IoU of two box sets, and Hungarian
assignment with a cost threshold."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

F32 = npt.NDArray[np.float32]


def iou(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> F32:
    """IoU ``[len(a), len(b)]`` as supervision's ``box_iou_batch``: float64 arithmetic, float32 result."""
    if len(a) == 0 or len(b) == 0:
        return np.empty((len(a), len(b)), np.float32)
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    wh = np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2])
    np.clip(wh, 0.0, None, out=wh)
    inter = wh[..., 0] * wh[..., 1]
    size_a, size_b = a[:, 2:] - a[:, :2], b[:, 2:] - b[:, :2]
    union = (size_a[:, 0] * size_a[:, 1])[:, None] + (size_b[:, 0] * size_b[:, 1])[None, :] - inter
    out = np.zeros(inter.shape, np.float32)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def assign(cost: F32, thresh: float) -> tuple[list[tuple[int, int]], tuple[int, ...], tuple[int, ...]]:
    """supervision's ``linear_assignment``: Hungarian matching, pairs costing more than ``thresh`` dropped.

    The unmatched indices are built exactly as supervision builds them (a set difference), because their
    order decides the order in which new tracks, and so new ids, are made.
    """
    rows, cols = cost.shape
    if cost.size == 0:
        return [], tuple(range(rows)), tuple(range(cols))
    capped = cost.copy()
    capped[capped > thresh] = thresh + 1e-4
    r, c = linear_sum_assignment(capped)
    keep = cost[r, c] <= thresh
    matches = list(zip(r[keep].tolist(), c[keep].tolist()))
    unmatched_rows = tuple(set(range(rows)) - {m[0] for m in matches})
    unmatched_cols = tuple(set(range(cols)) - {m[1] for m in matches})
    return matches, unmatched_rows, unmatched_cols
