"""The fair peers of the merger: the same work (boxes, scores, group keys -> kept indices in rank order,
score descending, ties by lower index) done by what a user would otherwise reach for, each in its best
configuration.

- ``opencv_per_class``: ``cv2.dnn.NMSBoxes`` once per group (the fast OpenCV path; singleton groups need no
  call), the kept indices put back into rank order.
- ``opencv_batched``: ``cv2.dnn.NMSBoxesBatched`` (one call; OpenCV offsets the boxes by group).
- ``numpy_per_class`` / ``numpy_batched``: the classic vectorised NMS loop (one keeper per iteration, its
  IoU with every remaining box at once), per group or over coordinate-offset groups (torchvision's
  ``batched_nms`` trick), in the contract's double arithmetic.
- ``numpy_greedy_nmm``: SAHI's GREEDYNMM the same vectorised way, for the tile-seam merge.

Input preparation in a peer's own format (OpenCV's x, y, w, h as float64) is done once, before timing, in
``Prepared``; grouping, the NMS itself and the final rank order are the peer's timed work, as they are
the merger's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Prepared:
    """One NMS input in every peer's format: xyxy float64 (numpy), x y w h float64 (OpenCV)."""

    xyxy: npt.NDArray[np.float64]
    xywh: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float32]
    keys: npt.NDArray[np.int32]

    @staticmethod
    def of(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], keys: npt.NDArray[np.int32]) -> "Prepared":
        xyxy = boxes.astype(np.float64)
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        return Prepared(xyxy, xywh, np.ascontiguousarray(scores, np.float32), np.ascontiguousarray(keys, np.int32))


def rank_order(scores: npt.NDArray[np.float32], idx: I64) -> I64:
    """idx sorted by score descending, ties by lower index (the contract's rank order)."""
    order: I64 = idx[np.lexsort((idx, -scores[idx]))]
    return order


def _groups(keys: npt.NDArray[np.int32]) -> tuple[I64, list[tuple[int, int]]]:
    """A stable sort by key, and each group's [start, end) in it (slices of sorted arrays are views:
    cheaper than gathering each group's rows)."""
    order: I64 = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = (np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1).tolist()
    return order, list(zip([0] + cuts, cuts + [len(order)])) if order.size else []


def opencv_per_class(p: Prepared, iou: float) -> I64:
    import cv2

    nms_boxes: Any = cv2.dnn.NMSBoxes  # its stubs want sequences; numpy arrays work the same
    order, bounds = _groups(p.keys)
    xywh, scores = p.xywh[order], p.scores[order]
    kept: list[I64] = []
    for a, b in bounds:
        if b - a == 1:  # a group of one keeps its box: no call
            kept.append(order[a:b])
            continue
        # score_threshold 0: every candidate here has a score > 0, as the merger's default keeps.
        local = np.asarray(nms_boxes(xywh[a:b], scores[a:b], 0.0, iou), dtype=np.int64).ravel()
        kept.append(order[a + local])
    return rank_order(p.scores, np.concatenate(kept) if kept else np.zeros(0, np.int64))


def opencv_batched(p: Prepared, iou: float) -> I64:
    import cv2

    batched: Any = cv2.dnn.NMSBoxesBatched
    local = np.asarray(batched(p.xywh, p.scores, p.keys, 0.0, iou), dtype=np.int64).ravel()
    return rank_order(p.scores, local)  # OpenCV returns them score-sorted; make the tie rule explicit


def _areas(b: F64) -> F64:
    """The contract's double areas of xyxy boxes."""
    return np.asarray((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), dtype=np.float64)


def _greedy(b: F64, area: F64, order: I64, thr: float, metric: str = "iou",
            members_too: bool = False) -> tuple[list[int], list[I64]]:
    """Vectorised greedy walk over ``order`` (rank order): keepers and (members_too) the boxes each takes."""
    keepers: list[int] = []
    members: list[I64] = []
    while order.size:
        i = int(order[0])
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(b[rest, 2], b[i, 2]) - np.maximum(b[rest, 0], b[i, 0]))
        h = np.maximum(0.0, np.minimum(b[rest, 3], b[i, 3]) - np.maximum(b[rest, 1], b[i, 1]))
        inter = w * h
        denom = (area[rest] + area[i]) - inter if metric == "iou" else np.minimum(area[rest], area[i])
        hit = inter > thr * denom
        keepers.append(i)
        if members_too:
            members.append(rest[hit])
        order = rest[~hit]
    return keepers, members


def numpy_per_class(p: Prepared, iou: float) -> I64:
    b = p.xyxy
    area = _areas(b)
    order, bounds = _groups(p.keys)
    kept: list[int] = []
    for lo, hi in bounds:
        if hi - lo == 1:
            kept.append(int(order[lo]))
            continue
        kept += _greedy(b, area, rank_order(p.scores, order[lo:hi]), iou)[0]
    return rank_order(p.scores, np.asarray(kept, dtype=np.int64))


def numpy_batched(p: Prepared, iou: float) -> I64:
    # Offsets exact in double (coordinates and offsets well below 2**24), so decisions are unchanged.
    span = float(p.xyxy.max()) + 1.0 if p.xyxy.size else 1.0
    b = p.xyxy + (p.keys.astype(np.float64) * span)[:, None]
    area = _areas(p.xyxy)
    keepers, _ = _greedy(b, area, rank_order(p.scores, np.arange(len(p.scores), dtype=np.int64)), iou)
    return np.asarray(keepers, dtype=np.int64)


NMS_PEERS: dict[str, Callable[[Prepared, float], I64]] = {
    "opencv_per_class": opencv_per_class,
    "opencv_batched": opencv_batched,
    "numpy_per_class": numpy_per_class,
    "numpy_batched": numpy_batched,
}


def numpy_greedy_nmm(frame: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], classes: npt.NDArray[np.int32],
                     metric: str, thr: float, fuse: bool = True) -> tuple[npt.NDArray[np.float32], I64]:
    """SAHI GREEDYNMM under the merger's contract (strict >, first keeper in rank order, a member fused only
    while the growing box still matches it), per class: fused float32 boxes and keeper indices, rank order.
    fuse=False: plain NMS with the metric (the keepers' own boxes)."""
    b = frame.astype(np.float64)
    area = _areas(b)
    keepers: list[int] = []
    fused: list[npt.NDArray[np.float32]] = []
    order, bounds = _groups(classes)
    for lo, hi in bounds:
        g = order[lo:hi]
        ks, ms = _greedy(b, area, rank_order(scores, g), thr, metric, members_too=fuse)
        for n, k in enumerate(ks):
            box = frame[k].copy()
            for j in ms[n].tolist() if fuse else ():  # sequential by nature: the box grows as members join
                x1, y1, x2, y2 = (float(v) for v in box)
                w = max(0.0, min(x2, b[j, 2]) - max(x1, b[j, 0]))
                h = max(0.0, min(y2, b[j, 3]) - max(y1, b[j, 1]))
                inter = w * h
                ab = (x2 - x1) * (y2 - y1)
                denom = (ab + area[j]) - inter if metric == "iou" else min(ab, area[j])
                if inter > thr * denom:
                    box = np.array([min(box[0], frame[j, 0]), min(box[1], frame[j, 1]), max(box[2], frame[j, 2]),
                                    max(box[3], frame[j, 3])], dtype=np.float32)
            keepers.append(k)
            fused.append(box)
    idx = np.asarray(keepers, dtype=np.int64)
    order = np.lexsort((idx, -scores[idx])) if idx.size else np.zeros(0, np.int64)
    boxes = np.asarray(fused, dtype=np.float32).reshape(-1, 4)
    return boxes[order], idx[order]


@dataclass(frozen=True)
class SeamPrepared:
    """The tiled app's merge input, with each peer's stage-1 input prepared (keys = tile x classes + class,
    as the app keys its per-tile NMS) and the tile offsets as float32 (x0, y0)."""

    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]
    tile_ids: npt.NDArray[np.int32]
    offsets: npt.NDArray[np.float32]
    keys: npt.NDArray[np.int32]
    stage1: Prepared

    @staticmethod
    def of(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], class_ids: npt.NDArray[np.int32],
           tile_ids: npt.NDArray[np.int32], offsets: npt.NDArray[np.float32]) -> "SeamPrepared":
        n_classes = int(class_ids.max()) + 1 if class_ids.size else 1
        keys = (tile_ids.astype(np.int64) * n_classes + class_ids).astype(np.int32)
        return SeamPrepared(boxes, scores, class_ids, tile_ids, np.ascontiguousarray(offsets, np.float32), keys,
                            Prepared.of(boxes, scores, keys))


def seam_merge_with(stage1: Callable[[Prepared, float], I64], s: SeamPrepared, tile_iou: float, method: str,
                    metric: str, thr: float) -> tuple[npt.NDArray[np.float32], I64]:
    """The app's two-stage merge done by a peer: its NMS per (tile, class), then GREEDYNMM in numpy on frame
    boxes (float32 sums, as the merger). Fused boxes and the keepers' input indices, in rank order."""
    keep = stage1(s.stage1, tile_iou)
    frame = (s.boxes[keep] + s.offsets[s.tile_ids[keep]][:, [0, 1, 0, 1]]).astype(np.float32)
    fused, idx = numpy_greedy_nmm(frame, s.scores[keep], s.class_ids[keep], metric, thr, method == "greedy_nmm")
    return fused, keep[idx]


def seam_merge_with_merger(lib: Any, s: SeamPrepared, tile_iou: float, method: str, metric: str,
                           thr: float) -> tuple[npt.NDArray[np.float32], I64]:
    """The same two stages with the merger (what app.tiled's merge_detections calls)."""
    keep = lib.nms(s.boxes, s.scores, s.keys, tile_iou)
    merged = lib.merge_tiles(s.boxes[keep], s.scores[keep], s.class_ids[keep], s.tile_ids[keep], s.offsets,
                             method, metric, thr)
    return merged.boxes, keep[merged.indices]
