"""Per-frame tiled detection: slice -> preprocess -> engine (batches of B) -> decode -> merge."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Iterator

import numpy as np
import numpy.typing as npt

from app.tiled.engines import Engine
from app.tiled.errors import ConfigError
from app.tiled.geometry import slice_boxes, validate_tiling
from app.tiled.postprocess import Detections, MergeConfig, Merger, TileDetections, decode, merge_detections
from app.tiled.preprocess import BatchPreprocessor


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
    """Detects objects in whole frames with an engine that sees fixed-size tiles in static batches."""

    def __init__(self, engine: Engine, tile: int = 640, overlap: float = 0.2, conf: float = 0.25,
                 merge: MergeConfig | None = None, merger: Merger = merge_detections,
                 classes: frozenset[int] | None = None) -> None:
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
        self.preprocessor = BatchPreprocessor(spec.batch_size, spec.input_hw,
                                              np.float16 if spec.input_dtype == "float16" else np.float32)
        self._tiles_cache: dict[tuple[int, int], npt.NDArray[np.int32]] = {}
        self.times = StageTimes()

    def tiles_for(self, width: int, height: int) -> npt.NDArray[np.int32]:
        key = (width, height)
        if key not in self._tiles_cache:
            self._tiles_cache[key] = slice_boxes(width, height, self.tile, self.overlap)
        return self._tiles_cache[key]

    def batches(self, tiles: npt.NDArray[np.int32]) -> Iterator[tuple[int, npt.NDArray[np.int32]]]:
        """``(start, tiles)`` chunks of at most one batch; the last one is padded by the preprocessor."""
        b = self.engine.spec.batch_size
        for start in range(0, len(tiles), b):
            yield start, tiles[start:start + b]

    def detect_raw(self, frame: npt.NDArray[np.uint8]) -> tuple[TileDetections, npt.NDArray[np.int32]]:
        """Tile detections of ``frame`` (BGR HWC uint8) and its tiles, before the merge."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ConfigError(f"frame must be HxWx3 uint8 BGR, but got shape {frame.shape} dtype {frame.dtype}")
        h, w = frame.shape[:2]
        tiles = self.tiles_for(w, h)
        b = self.engine.spec.batch_size
        raws: list[npt.NDArray[np.float32]] = []
        scales: list[npt.NDArray[np.float32]] = []
        padded_tiles = np.full((b, 4), -1, dtype=np.int32)
        for _start, chunk in self.batches(tiles):
            t0 = time.perf_counter()
            letterbox = self.preprocessor.fill(frame, chunk)
            padded_tiles[...] = -1
            padded_tiles[: len(chunk)] = chunk
            t1 = time.perf_counter()
            out = self.engine.infer(self.preprocessor.batch, padded_tiles)
            t2 = time.perf_counter()
            self.times.add("preprocess", t1 - t0)
            self.times.add("infer", t2 - t1)
            # padding rows are dropped here: they are never decoded, so never reported
            raws.append(np.array(out[: len(chunk)], dtype=np.float32, copy=True))
            scales.append(letterbox.scales[: len(chunk)])
        t3 = time.perf_counter()
        dets = decode(np.concatenate(raws), tiles, np.concatenate(scales), self.conf, self.classes)
        self.times.add("decode", time.perf_counter() - t3)
        return dets, tiles

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        """Frame detections of ``frame`` after the cross-tile merge."""
        dets, tiles = self.detect_raw(frame)
        t0 = time.perf_counter()
        merged = self.merger(dets, tiles, self.merge_config)
        self.times.add("merge", time.perf_counter() - t0)
        return merged
