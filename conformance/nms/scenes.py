"""Synthetic detection scenes for the NMS checks and benchmarks, and the Hypothesis strategies over them.

Large scenes come from a named generator and a seed (fast to draw, reproducible); small ones are drawn
coordinate by coordinate on an integer grid so that exact threshold equalities and score ties are common
and Hypothesis can shrink them to a few boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from conformance.nms.oracle import Method, Metric

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]

#: Thresholds that make exact equalities likely on integer boxes, plus the closed ends.
NICE_THRESHOLDS = (0.0, 0.25, 1.0 / 3.0, 0.5, 0.6, 0.75, 1.0)
SCENE_KINDS = ("random", "clustered", "identical", "grid", "zero_area", "sparse", "dense")
SCORE_KINDS = ("continuous", "few_levels", "all_equal")


@dataclass(frozen=True)
class Scene:
    """Boxes [N,4] float32 xyxy, scores [N] float32, class ids [N] int32."""

    boxes: F32
    scores: F32
    class_ids: I32

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


@dataclass(frozen=True)
class TiledScene:
    """Tile-local boxes with their tile ids and the tiles' (x0, y0) frame offsets."""

    scene: Scene
    tile_ids: I32
    tile_offsets: F32
    frame_size: tuple[int, int] = field(default=(1920, 1080))


def _scores(rng: np.random.Generator, n: int, kind: str) -> F32:
    if kind == "few_levels":
        return rng.choice(np.array([0.25, 0.5, 0.75, 1.0], dtype=np.float32), size=n)
    if kind == "all_equal":
        return np.full(n, 0.5, dtype=np.float32)
    return rng.uniform(0.01, 1.0, size=n).astype(np.float32)


def make_scene(
    kind: str, n: int, seed: int, n_classes: int = 1, score_kind: str = "continuous", extent: float = 1920.0,
    sparse_extent: float = 3840.0,
) -> Scene:
    """A scene of n boxes of the named kind (see SCENE_KINDS); sparse scenes cover sparse_extent squared."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        xy = rng.uniform(0, extent, size=(n, 2))
        wh = rng.uniform(0, extent / 4, size=(n, 2))
    elif kind == "clustered":
        centers = rng.uniform(0, extent, size=(max(1, n // 20), 2))
        c = centers[rng.integers(0, centers.shape[0], size=n)]
        wh = rng.uniform(20, 80, size=(n, 2))
        xy = c + rng.normal(0, 8, size=(n, 2)) - wh / 2
    elif kind == "identical":
        xy = np.tile([[10.0, 20.0]], (n, 1))
        wh = np.tile([[30.0, 40.0]], (n, 1))
    elif kind == "grid":
        xy = rng.integers(0, 12, size=(n, 2)).astype(np.float64)
        wh = rng.integers(0, 6, size=(n, 2)).astype(np.float64)
    elif kind == "zero_area":
        xy = rng.integers(0, 12, size=(n, 2)).astype(np.float64)
        wh = rng.integers(0, 4, size=(n, 2)).astype(np.float64)
        wh[rng.random(n) < 0.5, rng.integers(0, 2)] = 0.0
    elif kind == "sparse":
        # Small objects over a 4K frame: few overlaps, most boxes survive (workload (c)).
        xy = rng.uniform(0, sparse_extent, size=(n, 2))
        wh = rng.uniform(4, 24, size=(n, 2))
    elif kind == "dense":
        # Many candidates piled on few objects in one 640 x 640 tile (workload (b)).
        centers = rng.uniform(40, 600, size=(60, 2))
        c = centers[rng.integers(0, 60, size=n)]
        wh = rng.uniform(30, 90, size=(n, 2))
        xy = c + rng.normal(0, 6, size=(n, 2)) - wh / 2
    else:
        raise ValueError(f"scene kind must be one of {SCENE_KINDS}, but got {kind!r}")
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    # float32 rounding can never invert a box here (x + w >= x for w >= 0), but keep it explicit.
    boxes[:, 2] = np.maximum(boxes[:, 2], boxes[:, 0])
    boxes[:, 3] = np.maximum(boxes[:, 3], boxes[:, 1])
    classes = rng.integers(0, max(1, n_classes), size=n).astype(np.int32)
    return Scene(boxes, _scores(rng, n, score_kind), classes)


def sahi_tile_offsets(width: int, height: int, slice_size: int = 640, overlap: float = 0.2) -> F32:
    """SAHI get_slice_bboxes geometry: rows then columns, edge tiles shifted back inside the frame."""
    step = slice_size - int(overlap * slice_size)

    def starts(length: int) -> list[int]:
        out: list[int] = []
        s = 0
        while True:
            if s + slice_size >= length:
                out.append(max(0, length - slice_size))
                break
            out.append(s)
            s += step
        return out

    return np.array([(x, y) for y in starts(height) for x in starts(width)], dtype=np.float32)


def make_tiled_scene(
    n_objects: int, seed: int, n_classes: int = 3, score_kind: str = "continuous",
    width: int = 1920, height: int = 1080, extra_per_tile: int = 0,
) -> TiledScene:
    """Frame objects seen by every SAHI tile they touch, clipped to the tile (so cut at the seams)."""
    rng = np.random.default_rng(seed)
    offsets = sahi_tile_offsets(width, height)
    objs = make_scene("random", n_objects, seed, n_classes, score_kind, extent=float(min(width, height)))
    boxes: list[list[float]] = []
    scores: list[float] = []
    classes: list[int] = []
    tiles: list[int] = []
    for t, (x0, y0) in enumerate(offsets.tolist()):
        for k in range(n_objects):
            x1, y1, x2, y2 = objs.boxes[k].tolist()
            cx1, cy1 = max(x1, x0), max(y1, y0)
            cx2, cy2 = min(x2, x0 + 640), min(y2, y0 + 640)
            if cx1 >= cx2 or cy1 >= cy2:
                continue
            boxes.append([cx1 - x0, cy1 - y0, cx2 - x0, cy2 - y0])
            jitter = 0.0 if score_kind != "continuous" else float(rng.uniform(-0.05, 0.0))
            scores.append(max(0.01, float(objs.scores[k]) + jitter))
            classes.append(int(objs.class_ids[k]))
            tiles.append(t)
        for _ in range(extra_per_tile):
            xy = rng.uniform(0, 600, size=2)
            wh = rng.uniform(0, 60, size=2)
            boxes.append([xy[0], xy[1], xy[0] + wh[0], xy[1] + wh[1]])
            scores.append(float(rng.uniform(0.01, 1.0)))
            classes.append(int(rng.integers(0, max(1, n_classes))))
            tiles.append(t)
    b = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    b[:, 2] = np.maximum(b[:, 2], b[:, 0])
    b[:, 3] = np.maximum(b[:, 3], b[:, 1])
    scene = Scene(b, np.array(scores, dtype=np.float32), np.array(classes, dtype=np.int32))
    return TiledScene(scene, np.array(tiles, dtype=np.int32), offsets, (width, height))


# ---- Hypothesis strategies ------------------------------------------------------------------------------

thresholds = st.one_of(st.sampled_from(NICE_THRESHOLDS), st.floats(0.0, 1.0))


@st.composite
def small_scenes(draw: st.DrawFn, max_boxes: int = 12, n_classes: int = 3) -> Scene:
    """A few boxes drawn one by one on an integer grid: exact equalities and ties are frequent."""
    n = draw(st.integers(0, max_boxes))
    coord = st.integers(0, 10)
    size = st.integers(0, 6)
    rows = [(draw(coord), draw(coord), draw(size), draw(size)) for _ in range(n)]
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in rows], dtype=np.float32).reshape(-1, 4)
    levels = st.sampled_from([0.25, 0.5, 0.75, 1.0])
    scores = np.array([draw(levels) for _ in range(n)], dtype=np.float32)
    classes = np.array([draw(st.integers(0, n_classes - 1)) for _ in range(n)], dtype=np.int32)
    return Scene(boxes, scores, classes)


@st.composite
def generated_scenes(draw: st.DrawFn, max_boxes: int = 2000) -> Scene:
    """A named scene kind with a drawn size, seed, class count and score kind."""
    n = draw(st.one_of(st.integers(0, 40), st.integers(0, 400), st.integers(0, max_boxes)))
    kind = draw(st.sampled_from(SCENE_KINDS))
    score_kind = draw(st.sampled_from(SCORE_KINDS))
    n_classes = draw(st.sampled_from([1, 3, 80]))
    seed = draw(st.integers(0, 2**32 - 1))
    return make_scene(kind, n, seed, n_classes, score_kind)


scenes = st.one_of(small_scenes(), generated_scenes())


@dataclass(frozen=True)
class NmsCase:
    """One NMS call: a scene and the call's parameters."""

    scene: Scene
    iou_threshold: float
    score_threshold: float
    max_detections: Optional[int]
    class_agnostic: bool


@st.composite
def nms_cases(draw: st.DrawFn) -> NmsCase:
    scene = draw(scenes)
    return NmsCase(
        scene,
        draw(thresholds),
        draw(st.one_of(st.just(0.0), st.sampled_from([0.25, 0.5, 0.9]), st.floats(0.0, 1.0))),
        draw(st.one_of(st.none(), st.integers(0, 50))),
        draw(st.booleans()),
    )


@dataclass(frozen=True)
class MergeCase:
    """One tile-merge call."""

    tiled: TiledScene
    method: Method
    match_metric: Metric
    threshold: float
    class_agnostic: bool


@st.composite
def tiled_scenes(draw: st.DrawFn) -> TiledScene:
    """Seam scenes (objects cut by the SAHI tiles) or small integer scenes spread over a few tiles."""
    if draw(st.booleans()):
        return make_tiled_scene(
            draw(st.integers(0, 120)), draw(st.integers(0, 2**32 - 1)), draw(st.sampled_from([1, 3, 80])),
            draw(st.sampled_from(SCORE_KINDS)), extra_per_tile=draw(st.integers(0, 20)),
        )
    scene = draw(small_scenes())
    n_tiles = draw(st.integers(1, 3))
    offsets = np.array([[draw(st.integers(0, 8)), draw(st.integers(0, 8))] for _ in range(n_tiles)], dtype=np.float32)
    tiles = np.array([draw(st.integers(0, n_tiles - 1)) for _ in range(len(scene))], dtype=np.int32)
    return TiledScene(scene, tiles, offsets, (32, 32))


@st.composite
def merge_cases(draw: st.DrawFn) -> MergeCase:
    return MergeCase(
        draw(tiled_scenes()),
        draw(st.sampled_from(["nms", "greedy_nmm"])),
        draw(st.sampled_from(["iou", "ios"])),
        draw(thresholds),
        draw(st.booleans()),
    )
