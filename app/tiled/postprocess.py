"""Decode engine outputs to tile detections, then merge tiles into frame detections through ``nms_cpp``.

Merge = per-tile NMS (IoU; removes the detector's own duplicates, the engine has no NMS inside), then
cross-tile greedy NMM with IOS (SAHI's defaults, sahi/predict.py): a seam cuts an object into a clipped
box and a full one (or two partial ones); their IoU can be < 0.5 but their intersection over the
smaller box is ~1, and NMM replaces them by their union, the whole object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from app.tiled.errors import ConfigError

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]


@dataclass(frozen=True)
class MergeConfig:
    """Thresholds of the two merge stages (data, so the checks and the CLI share them)."""

    tile_iou: float = 0.5
    method: str = "greedy_nmm"
    match_metric: str = "ios"
    threshold: float = 0.5
    class_agnostic: bool = False

    def __post_init__(self) -> None:
        for name in ("tile_iou", "threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], but got {value}")
        if self.method not in ("nms", "greedy_nmm"):
            raise ConfigError(f"merge method must be 'nms' or 'greedy_nmm', but got {self.method!r}")
        if self.match_metric not in ("iou", "ios"):
            raise ConfigError(f"match metric must be 'iou' or 'ios', but got {self.match_metric!r}")


@dataclass(frozen=True)
class TileDetections:
    """Detections in tile-local pixels (after undoing the letterbox), with the tile each came from."""

    boxes: F32
    scores: F32
    class_ids: I32
    tile_ids: I32

    @staticmethod
    def concat(parts: list["TileDetections"]) -> "TileDetections":
        """One set from several batches' (the tile ids are already frame-wide)."""
        if len(parts) == 1:
            return parts[0]
        return TileDetections(np.concatenate([p.boxes for p in parts]), np.concatenate([p.scores for p in parts]),
                              np.concatenate([p.class_ids for p in parts]), np.concatenate([p.tile_ids for p in parts]))


@dataclass(frozen=True)
class Detections:
    """Frame detections; ``track_ids`` is set once a tracker has run (``-1``: not tracked)."""

    boxes: F32
    scores: F32
    class_ids: I32
    track_ids: npt.NDArray[np.int64] | None = field(default=None)

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @staticmethod
    def empty() -> "Detections":
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))


class Merger(Protocol):
    """Turns tile detections into frame detections (the seam check takes any implementation)."""

    def __call__(self, dets: TileDetections, tiles: I32, config: MergeConfig) -> Detections: ...


def decode(raw: F32, tiles: I32, scales: F32, conf: float, classes: frozenset[int] | None = None,
           first_tile: int = 0) -> TileDetections:
    """Select rows of ``raw [T, N, 6]`` (one batch's real tiles) with score >= ``conf``; map to tile pixels.

    Only the score column is read for every anchor; the other columns only for the candidates. Non-finite
    rows are dropped; boxes are clipped to their tile (a detector cannot see past it). Tile ids count from
    ``first_tile`` (the batch's first tile in the frame).
    """
    if raw.ndim != 3 or raw.shape[2] != 6 or raw.shape[0] != len(tiles):
        raise ConfigError(f"raw detections must be [T={len(tiles)},N,6], but got {list(raw.shape)}")
    anchors = raw.shape[1]
    flat = np.flatnonzero(raw[..., 4] >= conf)
    rows = raw.reshape(-1, 6)[flat]  # a copy: the engine's buffer is reused by the next batch
    if classes is not None or not np.isfinite(rows).all():
        ok = np.isfinite(rows).all(axis=1)
        if classes is not None:
            ok &= np.isin(rows[:, 5].astype(np.int64), np.fromiter(classes, dtype=np.int64))
        rows, flat = rows[ok], flat[ok]
    tile_idx = flat // anchors
    limits = (tiles[:, 2:] - tiles[:, :2]).astype(np.float32)[:, [0, 1, 0, 1]]
    boxes = rows[:, :4]
    if (scales[: len(tiles)] != 1.0).any():  # letterboxed tiles: back to tile pixels
        boxes *= (1.0 / scales).astype(np.float32)[tile_idx, None]
    np.maximum(boxes, 0.0, out=boxes)
    np.minimum(boxes, limits[tile_idx], out=boxes)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    if not keep.all():
        rows, tile_idx = rows[keep], tile_idx[keep]
    return TileDetections(
        boxes=np.ascontiguousarray(rows[:, :4]),
        scores=rows[:, 4].copy(),
        class_ids=rows[:, 5].astype(np.int32),
        tile_ids=(tile_idx + first_tile).astype(np.int32),
    )


def merge_detections(dets: TileDetections, tiles: I32, config: MergeConfig) -> Detections:
    """Per-tile NMS then cross-tile merge, both in ``nms_cpp``; returns frame-coordinate detections."""
    import nms_cpp

    if len(dets.scores) == 0:
        return Detections.empty()
    # One nms call for all tiles: a (tile, class) pair is its own class, so tiles never suppress each other here.
    n_classes = int(dets.class_ids.max()) + 1
    keyed = (dets.tile_ids.astype(np.int64) * n_classes + dets.class_ids).astype(np.int32)
    keep = nms_cpp.nms(dets.boxes, dets.scores, keyed, config.tile_iou)
    offsets = np.ascontiguousarray(tiles[:, :2], dtype=np.float32)
    method: Any = config.method  # validated in MergeConfig; nms_cpp types them as Literals
    metric: Any = config.match_metric
    merged = nms_cpp.merge_tiles(
        dets.boxes[keep], dets.scores[keep], dets.class_ids[keep], dets.tile_ids[keep], offsets,
        method=method, match_metric=metric, threshold=config.threshold,
        class_agnostic=config.class_agnostic,
    )
    return Detections(
        boxes=np.asarray(merged.boxes, dtype=np.float32).reshape(-1, 4),
        scores=np.asarray(merged.scores, dtype=np.float32),
        class_ids=np.asarray(merged.class_ids, dtype=np.int32),
    )
