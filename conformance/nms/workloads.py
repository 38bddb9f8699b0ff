"""The benchmark workloads of the merger: what a detector's post-processing really feeds it.

- ``yolo_candidates``: a synthetic YOLOv8-style head output per 640 x 640 tile (8,400 anchor points at
  strides 8/16/32), thresholded at the confidence threshold: the candidate boxes an engine without NMS
  inside (DeepStream-Yolo's ``[B, N, 6]``) hands to NMS. Objects fire the anchors inside them with a
  score falling off from their centre; background anchors fire rarely. Used for the YOLO set (80 classes)
  and the dense crowd (one class, many overlapping people).
- ``seam_merge_input``: the tiled app's merge input on its seam scene (objects cut by tile seams, each
  reported as several raw candidates by the stand-in engine), decoded as the app decodes.

Every workload is a pure function of its spec in fixtures/nms/criteria.yaml (seeded), so each run times
the same boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from conformance.nms.scenes import Scene, sahi_tile_offsets

if TYPE_CHECKING:
    from conformance.config.nms import SeamWorkload, YoloWorkload

#: YOLOv8 at 640 x 640: 80x80 + 40x40 + 20x20 anchor points.
STRIDES = (8, 16, 32)
TILE = 640


def _anchor_centres() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Centres [8400, 2] of the anchor points, level by level, and each anchor's stride."""
    centres, strides = [], []
    for s in STRIDES:
        g = TILE // s
        ys, xs = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        centres.append(np.stack([(xs.ravel() + 0.5) * s, (ys.ravel() + 0.5) * s], axis=1))
        strides.append(np.full(g * g, s))
    return np.concatenate(centres), np.concatenate(strides)


@dataclass(frozen=True)
class YoloSet:
    """Candidates (score > confidence) of every tile, keyed ``tile * classes + class`` as batched NMS keys
    them (an (image, class) pair is one NMS group); ``anchors`` is how many rows the head produced."""

    scene: Scene
    anchors: int


def yolo_candidates(spec: "YoloWorkload") -> YoloSet:
    """The candidates of ``spec.tiles`` tiles of synthetic head output (see the module docstring)."""
    rng = np.random.default_rng(spec.seed)
    centres, strides = _anchor_centres()
    n_anchors = centres.shape[0]
    # Zipf-like class frequencies (a street scene: a few classes dominate), fixed by the seed.
    weights = 1.0 / (np.arange(spec.classes) + 1.0) ** spec.class_skew
    weights /= weights.sum()
    boxes_out, scores_out, keys_out = [], [], []
    for tile in range(spec.tiles):
        score = 1.0 / (1.0 + np.exp(-rng.normal(spec.background_logit, 1.3, n_anchors)))  # background
        box = np.empty((n_anchors, 4))
        wh = rng.uniform(8, 48, (n_anchors, 2))
        box[:, :2] = centres - wh / 2
        box[:, 2:] = centres + wh / 2
        cls = rng.choice(spec.classes, n_anchors, p=weights)
        n_obj = int(rng.poisson(spec.objects_per_tile))
        size = np.exp(rng.uniform(np.log(spec.min_size), np.log(spec.max_size), n_obj))
        aspect = np.exp(rng.normal(0.0, 0.35, n_obj))
        ow, oh = size * np.sqrt(aspect), size / np.sqrt(aspect)
        ox, oy = rng.uniform(0, TILE, n_obj), rng.uniform(0, TILE, n_obj)
        peak = rng.uniform(spec.peak_min, spec.peak_max, n_obj)
        ocls = rng.choice(spec.classes, n_obj, p=weights)
        for k in range(n_obj):
            # The object's own level (by size) fires fully, the finer level next to it more weakly.
            level = 8 if max(ow[k], oh[k]) < 64 else 16 if max(ow[k], oh[k]) < 128 else 32
            near = ((np.abs(centres[:, 0] - ox[k]) < ow[k] / 2) & (np.abs(centres[:, 1] - oy[k]) < oh[k] / 2)
                    & ((strides == level) | (strides == level // 2)))
            idx = np.flatnonzero(near)
            if idx.size == 0:
                continue
            d2 = ((centres[idx, 0] - ox[k]) / ow[k]) ** 2 + ((centres[idx, 1] - oy[k]) / oh[k]) ** 2
            s = peak[k] * np.exp(-d2 / spec.falloff) * np.where(strides[idx] == level, 1.0, 0.7)
            better = s > score[idx]
            idx, s = idx[better], s[better]
            jitter = rng.normal(0.0, spec.jitter, (idx.size, 4)) * np.array([ow[k], oh[k], ow[k], oh[k]])
            box[idx] = np.array([ox[k] - ow[k] / 2, oy[k] - oh[k] / 2, ox[k] + ow[k] / 2, oy[k] + oh[k] / 2]) + jitter
            score[idx] = s
            cls[idx] = ocls[k]
        np.clip(box, 0, TILE, out=box)
        box[:, 2:] = np.maximum(box[:, 2:], box[:, :2])
        keep = score.astype(np.float32) > np.float32(spec.confidence)
        boxes_out.append(box[keep].astype(np.float32))
        scores_out.append(score[keep].astype(np.float32))
        keys_out.append((tile * spec.classes + cls[keep]).astype(np.int32))
    scene = Scene(np.concatenate(boxes_out), np.concatenate(scores_out), np.concatenate(keys_out))
    return YoloSet(scene, spec.tiles * n_anchors)


@dataclass(frozen=True)
class SeamInput:
    """The tiled app's merge input: tile-local candidates and the tiles ``[T, 4]`` (x0, y0, x1, y1)."""

    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]
    tile_ids: npt.NDArray[np.int32]
    tiles: npt.NDArray[np.int32]
    objects: int

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


def seam_merge_input(spec: "SeamWorkload") -> SeamInput:
    """The stand-in engine's raw candidates on the seam scene of a ``spec.size`` frame, decoded as the app
    does (score > confidence, clipped to the tile, degenerate boxes dropped); 640 tiles need no rescale."""
    from conformance.builders.scenes import GroundTruthDetector, seam_scene

    width, height = spec.size
    scene = seam_scene(width, height, seed=spec.seed)
    _ids, truth, classes = scene.truth(0)
    offsets = sahi_tile_offsets(width, height)
    tiles = np.concatenate([offsets, offsets + TILE], axis=1).astype(np.int32)
    engine = GroundTruthDetector(batch_size=len(tiles), candidates=spec.candidates)
    engine.set_truth(truth, classes)
    raw = engine.detect_tiles(tiles)
    tile_idx, anchor = np.nonzero(raw[..., 4] > spec.confidence)
    rows = raw[tile_idx, anchor]
    boxes = np.clip(rows[:, :4], 0.0, float(TILE))
    live = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return SeamInput(np.ascontiguousarray(boxes[live], np.float32), np.ascontiguousarray(rows[live, 4], np.float32),
                     rows[live, 5].astype(np.int32), tile_idx[live].astype(np.int32), tiles, len(truth))
