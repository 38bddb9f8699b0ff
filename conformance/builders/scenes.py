"""Synthetic scenes with known moving objects and ground truth, and a ground-truth stand-in detector.

Scenes are deterministic (seeded). ``seam_scene`` puts objects across every tile seam and corner;
``motion_scene`` moves objects across seams over time in separate lanes (so that a correct tracker has
no reason to switch ids). ``python -m conformance.builders.scenes --out build/tiled/demo.mp4`` writes a video
and its ground truth (JSON lines) for the README's demo.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from app.tiled.contract import EngineSpec
from app.tiled.errors import ConfigError, OutputError
from app.tiled.geometry import slice_boxes
from app.tiled.slicing import letterbox_scale

CLASS_NAMES = ("box", "disc", "bar")
_COLOURS = ((40, 40, 230), (40, 200, 40), (230, 120, 20))  # BGR per class
#: A stand-in detector only reports a clipped object when at least this much of it (pixels) is visible.
MIN_VISIBLE_PX = 4


@dataclass(frozen=True)
class SceneObject:
    """An axis-aligned object moving linearly, reflected at the frame edges (stays fully inside)."""

    obj_id: int
    class_id: int
    w: int
    h: int
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0


def _reflect(p: float, span: float) -> float:
    if span <= 0:
        return 0.0
    period = 2 * span
    q = p % period
    return q if q <= span else period - q


@dataclass(frozen=True)
class Scene:
    width: int
    height: int
    objects: tuple[SceneObject, ...]
    frames: int = 1
    seed: int = 0

    def truth(self, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.int32]]:
        """Ground truth at frame ``k``: object ids, boxes ``[M, 4]`` xyxy, class ids."""
        boxes = np.zeros((len(self.objects), 4), np.float32)
        for i, o in enumerate(self.objects):
            x = _reflect(o.x + o.vx * k, self.width - o.w)
            y = _reflect(o.y + o.vy * k, self.height - o.h)
            boxes[i] = (round(x), round(y), round(x) + o.w, round(y) + o.h)
        ids = np.array([o.obj_id for o in self.objects], np.int64)
        classes = np.array([o.class_id for o in self.objects], np.int32)
        return ids, boxes, classes

    def background(self) -> npt.NDArray[np.uint8]:
        rng = np.random.default_rng(self.seed)
        small = rng.integers(70, 140, size=(max(1, self.height // 16), max(1, self.width // 16), 3), dtype=np.uint8)
        return np.asarray(cv2.resize(small, (self.width, self.height), interpolation=cv2.INTER_LINEAR), np.uint8)

    def render(self, k: int, background: npt.NDArray[np.uint8] | None = None) -> npt.NDArray[np.uint8]:
        """Frame ``k`` (BGR uint8): each class has its own shape and colour."""
        frame = (self.background() if background is None else background).copy()
        _ids, boxes, classes = self.truth(k)
        for (x0, y0, x1, y1), c in zip(boxes.astype(int).tolist(), classes.tolist()):
            colour = _COLOURS[c % len(_COLOURS)]
            if c % 3 == 1:
                cv2.ellipse(frame, (((x0 + x1) / 2, (y0 + y1) / 2), (x1 - x0, y1 - y0), 0.0), colour, -1)
            else:
                cv2.rectangle(frame, (x0, y0), (x1 - 1, y1 - 1), colour, -1)
                if c % 3 == 2:
                    for yy in range(y0 + 4, y1 - 2, 8):
                        cv2.line(frame, (x0 + 2, yy), (x1 - 3, yy), (250, 250, 250), 2)
        return frame


def _overlaps(box: tuple[float, float, float, float], placed: list[tuple[float, float, float, float]], gap: float) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] + gap and b[0] < x1 + gap and y0 < b[3] + gap and b[1] < y1 + gap for b in placed)


def seam_scene(width: int, height: int, tile: int = 640, overlap: float = 0.2, seed: int = 7) -> Scene:
    """Static objects centred on every tile edge inside the frame (x seams, y seams and their corners).

    Sizes cycle through small, medium and wider-than-the-overlap objects; objects never touch
    (a class-aware merge may rightly fuse touching objects of one class).
    """
    tiles = slice_boxes(width, height, tile, overlap)
    xs = sorted({int(v) for v in tiles[:, [0, 2]].ravel() if 0 < v < width})
    ys = sorted({int(v) for v in tiles[:, [1, 3]].ravel() if 0 < v < height})
    sizes = [(48, 48), (96, 64), (int(tile * overlap) + 52, 90), (64, int(tile * overlap) + 40)]
    rng = np.random.default_rng(seed)
    candidates: list[tuple[float, float]] = []
    for x in xs:  # vertical seams, at several heights
        candidates += [(x, float(y)) for y in rng.uniform(0.1, 0.9, 4) * height]
    for y in ys:  # horizontal seams, at several widths
        candidates += [(float(x), y) for x in rng.uniform(0.1, 0.9, 4) * width]
    candidates += [(x, y) for x in xs for y in ys]  # corners
    if not candidates:  # a frame smaller than a tile has no seam: objects anywhere in its single tile
        candidates = [(float(x), float(y)) for x, y in zip(rng.uniform(0.2, 0.8, 4) * width,
                                                            rng.uniform(0.2, 0.8, 4) * height)]
    placed: list[tuple[float, float, float, float]] = []
    objects: list[SceneObject] = []
    for i, (cx, cy) in enumerate(candidates):
        w, h = sizes[i % len(sizes)]
        w, h = min(w, width - 2), min(h, height - 2)
        x0 = float(np.clip(round(cx - w / 2), 0, width - w))
        y0 = float(np.clip(round(cy - h / 2), 0, height - h))
        box = (x0, y0, x0 + w, y0 + h)
        if _overlaps(box, placed, gap=6):
            continue
        placed.append(box)
        objects.append(SceneObject(len(objects), len(objects) % len(CLASS_NAMES), w, h, x0, y0))
    if not objects:
        raise ConfigError(f"no seam to place objects on in a {width}x{height} frame")
    return Scene(width, height, tuple(objects), 1, seed)


def motion_scene(width: int = 1920, height: int = 1080, frames: int = 90, seed: int = 11) -> Scene:
    """Objects crossing seams over time: horizontal movers in separate lanes, vertical movers in a right band."""
    rng = np.random.default_rng(seed)
    objects: list[SceneObject] = []
    band = max(120, width // 10)  # right band reserved to vertical movers
    lanes = np.linspace(0.06, 0.86, 6) * height
    for i, lane in enumerate(lanes):
        w, h = int(rng.integers(48, 110)), int(min(rng.integers(40, 80), height // 8))
        vx = float(rng.choice([-1, 1]) * rng.uniform(7, 14))
        x = float(rng.uniform(0, width - band - w))
        # reflect inside [0, width - band] by shrinking the scene span: encode via a narrower virtual width
        objects.append(SceneObject(i, (0, 2)[i % 2], w, h, x, float(lane), vx, 0.0))
    for j in range(2):
        w, h = 56, 56
        x = float(width - band + 10 + j * (band // 2))
        objects.append(SceneObject(len(objects), 1, min(w, band // 2 - 12), h, x,
                                   float(rng.uniform(0, height - h)), 0.0, float(rng.uniform(6, 10) * (1 - 2 * j))))
    return _BandedScene(width, height, tuple(objects), frames, seed, band)


@dataclass(frozen=True)
class _BandedScene(Scene):
    """A scene whose horizontal movers reflect before the right band (so lanes never cross the vertical movers)."""

    band: int = 0

    def truth(self, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.int32]]:
        boxes = np.zeros((len(self.objects), 4), np.float32)
        for i, o in enumerate(self.objects):
            right = self.width - self.band if o.vx else self.width
            x = o.x if not o.vx else _reflect(o.x + o.vx * k, right - o.w)
            y = _reflect(o.y + o.vy * k, self.height - o.h)
            boxes[i] = (round(x), round(y), round(x) + o.w, round(y) + o.h)
        ids = np.array([o.obj_id for o in self.objects], np.int64)
        classes = np.array([o.class_id for o in self.objects], np.int32)
        return ids, boxes, classes


class GroundTruthDetector:
    """Stand-in engine: for each tile returns every ground-truth object clipped to the tile, as a real
    detector sees it (score 0.5 + 0.5 x visible fraction), in engine-input pixels, ``[B, N, 6]``.

    Set the truth of the frame with :meth:`set_truth` before each frame. It ignores pixels (its input is
    the app's uint8 tile batch, like a prepared model's). ``candidates`` > 1 makes it report each object
    that many times, jittered by a few pixels with falling scores, like the raw output of an engine without
    NMS inside (DeepStream-Yolo's [B, N, 6] export). ``output_anchors`` pads each tile's rows with empty anchors
    up to a real engine's N (8400 at 640), so the host reads as much as it would from one.

    With ``frame_hw`` it stands in for a frame-input engine (``prepare_onnx --frame``): its input is one
    ``frame_hw`` frame, and like the TensorRT engine it has a page-locked-sized ``input_buffer`` (ordinary
    memory here) that the app copies the frame into, so the host pays what it would pay on the device.
    """

    def __init__(self, batch_size: int = 8, input_hw: tuple[int, int] = (640, 640), num_anchors: int = 256,
                 candidates: int = 1, output_anchors: int | None = None,
                 frame_hw: tuple[int, int] | None = None) -> None:
        if candidates < 1:
            raise ConfigError(f"candidates must be >= 1, but got {candidates}")
        rows = num_anchors * candidates
        if output_anchors is not None and output_anchors < rows:
            raise ConfigError(f"output_anchors must be >= num_anchors x candidates ({rows}), but got {output_anchors}")
        self.tile_hw = input_hw
        self.spec = EngineSpec(batch_size, frame_hw or input_hw, "frame" if frame_hw else "tiles", "detections",
                               output_anchors or rows, frame_input=frame_hw is not None)
        if frame_hw is not None:
            self.input_buffer = np.zeros(self.spec.input_shape, np.uint8)
        self.num_anchors = num_anchors
        self.candidates = candidates
        # fixed jitter pattern (pixels, per candidate): deterministic, within the NMS IoU of the object
        rng = np.random.default_rng(3)
        self._jitter = np.vstack([np.zeros((1, 4)), rng.uniform(-3, 3, (candidates - 1, 4))]).astype(np.float32)
        self._boxes = np.zeros((0, 4), np.float32)
        self._classes = np.zeros(0, np.int32)
        self._out = np.zeros((batch_size, self.spec.num_anchors, 6), np.float32)

    def set_truth(self, boxes: npt.NDArray[np.float32], classes: npt.NDArray[np.int32]) -> None:
        self._boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        self._classes = np.asarray(classes, np.int32)

    def detect_tiles(self, tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """Raw ``[T, N, 6]`` for ``tiles`` (any count), without going through pixels."""
        rows = self.num_anchors * self.candidates
        out = np.zeros((len(tiles), self.spec.num_anchors, 6), np.float32)
        ih, iw = self.tile_hw
        b = self._boxes
        areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        for t, (x0, y0, x1, y1) in enumerate(np.asarray(tiles).tolist()):
            if x0 < 0:
                continue  # padding row
            vx0, vy0 = np.maximum(b[:, 0], x0), np.maximum(b[:, 1], y0)
            vx1, vy1 = np.minimum(b[:, 2], x1), np.minimum(b[:, 3], y1)
            seen = np.nonzero(((vx1 - vx0) >= MIN_VISIBLE_PX) & ((vy1 - vy0) >= MIN_VISIBLE_PX))[0]
            seen = seen[: self.num_anchors]
            r = letterbox_scale(x1 - x0, y1 - y0, iw, ih)
            found = out[t, : len(seen)]
            found[:, 0] = (vx0[seen] - x0) * r
            found[:, 1] = (vy0[seen] - y0) * r
            found[:, 2] = (vx1[seen] - x0) * r
            found[:, 3] = (vy1[seen] - y0) * r
            visible = (vx1[seen] - vx0[seen]) * (vy1[seen] - vy0[seen])
            found[:, 4] = 0.5 + 0.5 * visible / areas[seen]
            found[:, 5] = self._classes[seen]
        if self.candidates > 1:
            base = out[:, : self.num_anchors].copy()
            raw = np.repeat(base, self.candidates, axis=1)
            live = raw[..., 4] > 0
            jitter = np.tile(self._jitter, (self.num_anchors, 1))[None]
            raw[..., :4] += np.where(live[..., None], jitter, 0)
            raw[..., 4] -= np.where(live, np.tile(np.arange(self.candidates) * 1e-3, self.num_anchors)[None], 0)
            out[:, :rows] = raw
        return out

    def infer(self, batch: npt.NDArray[np.uint8], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        self._out[...] = 0.0
        self._out[: len(tiles)] = self.detect_tiles(tiles)
        return self._out

    def close(self) -> None:
        """Nothing to release."""


def write_video(scene: Scene, out: Path, truth_out: Path | None = None, fps: float = 30.0) -> Path:
    """Render ``scene`` to ``out`` (mp4v for .mp4, MJPG for .avi) and its truth as JSON lines, atomically."""
    out = Path(out)
    fourcc = cv2.VideoWriter.fourcc(*("MJPG" if out.suffix.lower() == ".avi" else "mp4v"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{out.stem}{out.suffix}")
    writer = cv2.VideoWriter(str(tmp), fourcc, fps, (scene.width, scene.height))
    if not writer.isOpened():
        raise OutputError(f"cannot write video '{out}'")
    lines = []
    bg = scene.background()
    try:
        for k in range(scene.frames):
            writer.write(scene.render(k, bg))
            ids, boxes, classes = scene.truth(k)
            lines.append(json.dumps({"frame": k, "ids": ids.tolist(), "boxes": boxes.tolist(),
                                     "classes": classes.tolist()}))
    finally:
        writer.release()
    os.replace(tmp, out)
    if truth_out is not None:
        ttmp = truth_out.with_name(f".tmp-{truth_out.name}")
        ttmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(ttmp, truth_out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.builders.scenes", description="Write a synthetic test video.")
    parser.add_argument("--out", type=Path, required=True, help="video file (.mp4 or .avi)")
    parser.add_argument("--truth", type=Path, help="ground truth JSON lines (default: <out>.truth.jsonl)")
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--size", default="1920x1080", help="WxH")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    scene = motion_scene(w, h, args.frames)
    write_video(scene, args.out, args.truth or args.out.with_suffix(".truth.jsonl"), args.fps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
