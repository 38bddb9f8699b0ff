"""Reference NMS and tile merge: the contract of nms_cpp/include/nms_merger.h, written plainly.

Independent of the C++ code on purpose: one candidate at a time, compared with the kept boxes, float64
throughout (numpy elementwise operations are single IEEE-754 roundings, in the contract's order, so the
decisions are the library's bit for bit). Slow (n x kept) and obviously correct is the point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Optional

import numpy as np
import numpy.typing as npt

Metric = Literal["iou", "ios"]
Method = Literal["nms", "greedy_nmm"]


class OracleInputError(ValueError):
    """Input the contract rejects; ``index`` is the lowest offending box (or tile) index, if any."""

    def __init__(self, message: str, index: Optional[int] = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class OracleMerge:
    """Merged frame detections in rank order; ``indices`` are the keepers' input indices."""

    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]
    indices: npt.NDArray[np.int64]


def matches_any(kept: npt.NDArray[np.float64], box: npt.NDArray[np.float64], metric: Metric, thr: float) -> npt.NDArray[np.bool_]:
    """Contract match of one box against each row of ``kept`` (both float64 xyxy)."""
    w = np.maximum(0.0, np.minimum(kept[:, 2], box[2]) - np.maximum(kept[:, 0], box[0]))
    h = np.maximum(0.0, np.minimum(kept[:, 3], box[3]) - np.maximum(kept[:, 1], box[1]))
    inter = w * h
    area_k = (kept[:, 2] - kept[:, 0]) * (kept[:, 3] - kept[:, 1])
    area_b = (box[2] - box[0]) * (box[3] - box[1])
    if metric == "iou":
        denom = (area_k + area_b) - inter
    else:
        denom = np.minimum(area_k, area_b)
    result: npt.NDArray[np.bool_] = inter > thr * denom
    return result


def rank_order(scores: npt.NDArray[np.float32], indices: list[int]) -> list[int]:
    """Score descending, equal scores by lower input index."""
    return sorted(indices, key=lambda i: (-float(scores[i]), i))


def validate(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], *thresholds: float) -> None:
    """Contract input rules, lowest bad index first; per box: coordinates, then order, then score."""
    for t in thresholds:
        if not 0.0 <= t <= 1.0:
            raise OracleInputError(f"threshold {t!r} is outside [0, 1]")
    for i in range(boxes.shape[0]):
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            raise OracleInputError(f"box {i} has a non-finite coordinate", i)
        if x2 < x1 or y2 < y1:
            raise OracleInputError(f"box {i} has x2 < x1 or y2 < y1", i)
        if not math.isfinite(float(scores[i])):
            raise OracleInputError(f"box {i} has a non-finite score", i)


def nms(
    boxes: npt.ArrayLike,
    scores: npt.ArrayLike,
    class_ids: Optional[npt.ArrayLike],
    iou_threshold: float,
    score_threshold: float = 0.0,
    max_detections: Optional[int] = None,
    class_agnostic: bool = False,
) -> npt.NDArray[np.int64]:
    """Kept input indices in rank order (the contract's greedy NMS)."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float32)
    n = b.shape[0]
    c = np.zeros(n, dtype=np.int64) if class_ids is None else np.asarray(class_ids, dtype=np.int64)
    validate(b, s, iou_threshold, score_threshold)
    b64 = b.astype(np.float64)
    candidates = [i for i in range(n) if float(s[i]) > score_threshold]
    kept: list[int] = []
    # Kept boxes per class (one shared group when agnostic), rows [0, count) of a preallocated array.
    groups: dict[int, list[Any]] = {}
    for i in rank_order(s, candidates):
        if max_detections is not None and len(kept) >= max_detections:
            break
        group = groups.setdefault(0 if class_agnostic else int(c[i]), [np.empty((n, 4)), 0])
        rows, count = group
        if count and matches_any(rows[:count], b64[i], "iou", iou_threshold).any():
            continue
        rows[count] = b64[i]
        group[1] = count + 1
        kept.append(i)
    return np.asarray(kept, dtype=np.int64)


def frame_boxes(
    boxes: npt.ArrayLike, tile_ids: npt.ArrayLike, tile_offsets: npt.ArrayLike
) -> npt.NDArray[np.float32]:
    """Tile-local boxes shifted by their tile's (x0, y0), each sum rounded to float32."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    t = np.asarray(tile_ids, dtype=np.int64)
    off = np.asarray(tile_offsets, dtype=np.float32).reshape(-1, 2)
    for i in range(t.shape[0]):
        if not 0 <= t[i] < off.shape[0]:
            raise OracleInputError(f"box {i} has tile id {t[i]} outside [0, {off.shape[0]})", i)
    shift = off[t][:, [0, 1, 0, 1]]
    with np.errstate(over="ignore"):
        out: npt.NDArray[np.float32] = (b + shift).astype(np.float32)
    return out


def merge_tiles(
    boxes: npt.ArrayLike,
    scores: npt.ArrayLike,
    class_ids: Optional[npt.ArrayLike],
    tile_ids: npt.ArrayLike,
    tile_offsets: npt.ArrayLike,
    method: Method,
    match_metric: Metric,
    threshold: float,
    class_agnostic: bool = False,
) -> OracleMerge:
    """The contract's tile merge: NMS or SAHI-style greedy NMM on frame boxes."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float32)
    n = b.shape[0]
    c = np.zeros(n, dtype=np.int32) if class_ids is None else np.asarray(class_ids, dtype=np.int32)
    off = np.asarray(tile_offsets, dtype=np.float32).reshape(-1, 2)
    for t in range(off.shape[0]):
        if not (math.isfinite(float(off[t, 0])) and math.isfinite(float(off[t, 1]))):
            raise OracleInputError(f"tile {t} has a non-finite offset", t)
    if not 0.0 <= threshold <= 1.0:
        raise OracleInputError(f"threshold {threshold!r} is outside [0, 1]")
    if method not in ("nms", "greedy_nmm") or match_metric not in ("iou", "ios"):
        raise OracleInputError(f"unknown method {method!r} or match metric {match_metric!r}")
    validate(b, s)  # tile-local rules first, then the tile id and the frame box, per box
    f = frame_boxes(b, tile_ids, off)
    for i in range(n):
        if not np.isfinite(f[i]).all():
            raise OracleInputError(f"box {i} is not finite in frame coordinates", i)
    f64 = f.astype(np.float64)

    keepers: list[int] = []
    members: dict[int, list[int]] = {}
    for i in rank_order(s, list(range(n))):
        same = [k for k in keepers if class_agnostic or c[k] == c[i]]
        hit = matches_any(f64[same], f64[i], match_metric, threshold) if same else np.zeros(0, dtype=bool)
        if hit.any():
            members[same[int(np.argmax(hit))]].append(i)  # first matching keeper in rank order
        else:
            keepers.append(i)
            members[i] = []

    out = np.empty((len(keepers), 4), dtype=np.float32)
    for row, k in enumerate(keepers):
        fused = f[k].copy()
        if method == "greedy_nmm":
            for m in members[k]:
                if matches_any(fused.astype(np.float64)[None, :], f64[m], match_metric, threshold)[0]:
                    fused = np.array(
                        [min(fused[0], f[m, 0]), min(fused[1], f[m, 1]), max(fused[2], f[m, 2]), max(fused[3], f[m, 3])],
                        dtype=np.float32,
                    )
        out[row] = fused
    idx = np.asarray(keepers, dtype=np.int64)
    return OracleMerge(out, s[idx].astype(np.float32), c[idx].astype(np.int32), idx)
