"""Per-frame tiled detection: slice (uint8, into one reused batch) -> engine -> decode -> merge.

Per batch of B tiles the host copies the tiles' bytes, the engine does the rest of the preprocessing and
the model, and the host decodes the engine's ``[B, N, 6]`` before the next batch overwrites it. A
frame-input engine (``spec.frame_input``) crops the tiles itself: the host hands it the frame (copied once
into the engine's page-locked input when it has one) and slices nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Callable, Iterator

import numpy as np
import numpy.typing as npt

from app.tiled.engines import Engine, EngineSpec
from app.tiled.errors import ConfigError
from app.tiled.geometry import slice_boxes, validate_tiling
from app.tiled.postprocess import Detections, MergeConfig, Merger, TileDetections, decode, merge_detections
from app.tiled.slicing import BatchSlicer


class StageTimes:
    """Per-stage latency samples in milliseconds."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    def add(self, stage: str, seconds: float) -> None:
        self.samples[stage].append(seconds * 1000.0)

    def summary(self) -> dict[str, dict[str, float]]:
        """``{stage: {p50, p95, mean}}`` in ms, rounded to 0.01 ms."""
        out: dict[str, dict[str, float]] = {}
        for stage, values in self.samples.items():
            arr = np.asarray(values)
            out[stage] = {"p50": round(float(np.percentile(arr, 50)), 2),
                          "p95": round(float(np.percentile(arr, 95)), 2),
                          "mean": round(float(arr.mean()), 2)}
        return out


class TiledDetector:
    """Detects objects in whole frames with an engine that sees fixed-size tiles in static batches.

    ``slicer`` makes the batch writer: ``slicer(batch_size, input_hw)``, or with ``buffer=`` the engine's
    ``input_buffer`` when it has one (see :class:`app.tiled.contract.Engine`).
    """

    def __init__(self, engine: Engine, tile: int = 640, overlap: float = 0.2, conf: float = 0.25,
                 merge: MergeConfig | None = None, merger: Merger = merge_detections,
                 classes: frozenset[int] | None = None,
                 slicer: Callable[..., BatchSlicer] = BatchSlicer) -> None:
        validate_tiling(tile, overlap)
        if not 0.0 <= conf <= 1.0:
            raise ConfigError(f"conf must be in [0, 1], but got {conf}")
        self.engine = engine
        self.tile = tile
        self.overlap = overlap
        self.conf = conf
        self.merge_config = merge or MergeConfig()
        self.merger = merger
        self.classes = classes
        spec = engine.spec
        self._tiles_cache: dict[tuple[int, int], npt.NDArray[np.int32]] = {}
        # A GPU engine offers its page-locked input buffer: slicing (or copying the frame) straight into it is
        # the host's only copy.
        pinned = getattr(engine, "input_buffer", None)
        self.slicer: BatchSlicer | None = None
        self.frame_buffer: npt.NDArray[np.uint8] | None = None
        if spec.frame_input:
            self._check_frame_tiles(spec)
            self.frame_buffer = pinned
            self._ones = np.ones(spec.batch_size, dtype=np.float32)  # every crop is a whole tile: no letterbox
        else:
            self.slicer = (slicer(spec.batch_size, spec.input_hw) if pinned is None
                           else slicer(spec.batch_size, spec.input_hw, buffer=pinned))
        self._padded_tiles = np.full((spec.batch_size, 4), -1, dtype=np.int32)
        self.times = StageTimes()

    def _check_frame_tiles(self, spec: EngineSpec) -> None:
        """A frame-input engine's crops must be the tiles this detector decodes against."""
        h, w = spec.input_hw
        ours = self.tiles_for(w, h)
        found = f"the engine crops {len(spec.frame_tiles) or spec.batch_size} tiles from {w}x{h} frames"
        if len(ours) != spec.batch_size:
            raise ConfigError(f"{found}, but tile {self.tile} and overlap {self.overlap} make {len(ours)}; expected "
                              "the tiling the model was prepared with (prepare_onnx --frame, --overlap)")
        if spec.frame_tiles and [list(t) for t in spec.frame_tiles] != ours.tolist():
            raise ConfigError(f"{found} at {list(spec.frame_tiles)[:2]}..., but tile {self.tile} and overlap "
                              f"{self.overlap} give {ours.tolist()[:2]}...; expected the tiling the model was "
                              "prepared with (prepare_onnx --frame, --overlap)")

    def tiles_for(self, width: int, height: int) -> npt.NDArray[np.int32]:
        key = (width, height)
        if key not in self._tiles_cache:
            self._tiles_cache[key] = slice_boxes(width, height, self.tile, self.overlap)
        return self._tiles_cache[key]

    def batches(self, tiles: npt.NDArray[np.int32]) -> Iterator[tuple[int, npt.NDArray[np.int32]]]:
        """``(start, tiles)`` chunks of at most one batch; the last one is padded by the slicer."""
        b = self.engine.spec.batch_size
        for start in range(0, len(tiles), b):
            yield start, tiles[start:start + b]

    def detect_raw(self, frame: npt.NDArray[np.uint8]) -> tuple[TileDetections, npt.NDArray[np.int32]]:
        """Tile detections of ``frame`` (BGR HWC uint8) and its tiles, before the merge."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ConfigError(f"frame must be HxWx3 uint8 BGR, but got shape {frame.shape} dtype {frame.dtype}")
        h, w = frame.shape[:2]
        spec = self.engine.spec
        if spec.frame_input and (h, w) != spec.input_hw:
            raise ConfigError(f"frame {w}x{h} does not match the engine's frame input "
                              f"{spec.input_hw[1]}x{spec.input_hw[0]}; expected frames of that size, or a model "
                              "prepared for this one (prepare_onnx --frame)")
        tiles = self.tiles_for(w, h)
        parts: list[TileDetections] = []
        spent = [0.0, 0.0, 0.0]
        for start, chunk in self.batches(tiles):
            t0 = time.perf_counter()
            batch, scales = self._fill(frame, chunk)
            self._padded_tiles[...] = -1
            self._padded_tiles[: len(chunk)] = chunk
            t1 = time.perf_counter()
            out = self.engine.infer(batch, self._padded_tiles)
            t2 = time.perf_counter()
            # padding rows are dropped here: they are never decoded, so never reported
            parts.append(decode(out[: len(chunk)], chunk, scales, self.conf, self.classes, first_tile=start))
            t3 = time.perf_counter()
            spent[0] += t1 - t0
            spent[1] += t2 - t1
            spent[2] += t3 - t2
        for stage, seconds in zip(("slice", "infer", "decode"), spent):
            self.times.add(stage, seconds)
        return TileDetections.concat(parts), tiles

    def _fill(self, frame: npt.NDArray[np.uint8],
              chunk: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
        """The engine's input for ``chunk`` and the chunk's letterbox scales: the tiles sliced into the batch,
        or, for a frame-input engine (whose crops are whole tiles), the frame itself."""
        if self.slicer is not None:
            scales = self.slicer.fill(frame, chunk)
            return self.slicer.batch, scales
        if self.frame_buffer is None:
            return np.ascontiguousarray(frame)[None], self._ones
        np.copyto(self.frame_buffer[0], frame)
        return self.frame_buffer, self._ones

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        """Frame detections of ``frame`` after the cross-tile merge."""
        dets, tiles = self.detect_raw(frame)
        t0 = time.perf_counter()
        merged = self.merger(dets, tiles, self.merge_config)
        self.times.add("merge", time.perf_counter() - t0)
        return merged
