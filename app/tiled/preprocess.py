"""Tile preprocessing into one preallocated batch buffer.

Engine input convention (DeepStream-Yolo / Ultralytics): NCHW, RGB, scaled to [0, 1], fp32 or fp16.
A tile that is not the engine's input size is letterboxed: scaled by ``r = min(S/w, S/h)`` and placed
top-left on grey (114) padding, so mapping back is ``x_frame = x_input / r + tile_x0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from app.tiled.errors import ConfigError

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How tiles were scaled into the engine input: ``scales[t]`` per tile (1.0 when no resize)."""

    scales: npt.NDArray[np.float32]


def letterbox_scale(tile_w: int, tile_h: int, input_w: int, input_h: int) -> float:
    """Scale that fits a ``tile_w x tile_h`` tile into the engine input, aspect preserved."""
    return min(input_w / tile_w, input_h / tile_h)


class BatchPreprocessor:
    """Cuts tiles from a frame into a reused uint8 staging buffer, then converts them in one vectorised step.

    Buffers are allocated once per (batch, input size, dtype); :meth:`fill` allocates nothing per tile.
    """

    def __init__(self, batch_size: int, input_hw: tuple[int, int], dtype: npt.DTypeLike = np.float32) -> None:
        if batch_size <= 0:
            raise ConfigError(f"batch size must be positive, but got {batch_size}")
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float32), np.dtype(np.float16)):
            raise ConfigError(f"input dtype must be float32 or float16, but got {dt}")
        self.batch_size = batch_size
        self.input_hw = input_hw
        h, w = input_hw
        self._staging = np.full((batch_size, h, w, 3), PAD_VALUE, dtype=np.uint8)
        self.batch = np.empty((batch_size, 3, h, w), dtype=dt)
        self._scale = np.float32(1.0 / 255.0)

    def fill(self, frame: npt.NDArray[np.uint8], tiles: npt.NDArray[np.int32]) -> Letterbox:
        """Write up to ``batch_size`` tiles of ``frame`` (BGR HWC uint8) into :attr:`batch`.

        Rows past ``len(tiles)`` are padding: they hold grey and their results must be ignored.
        """
        n = len(tiles)
        if n > self.batch_size:
            raise ConfigError(f"{n} tiles do not fit a batch of {self.batch_size}")
        ih, iw = self.input_hw
        scales = np.ones(self.batch_size, dtype=np.float32)
        for i, (x0, y0, x1, y1) in enumerate(tiles.tolist()):
            crop = frame[y0:y1, x0:x1]
            th, tw = crop.shape[:2]
            dst = self._staging[i]
            if th == ih and tw == iw:
                dst[...] = crop
                continue
            r = letterbox_scale(tw, th, iw, ih)
            nw, nh = min(iw, round(tw * r)), min(ih, round(th * r))
            dst[...] = PAD_VALUE
            cv2.resize(crop, (nw, nh), dst=dst[:nh, :nw], interpolation=cv2.INTER_LINEAR)
            scales[i] = r
        if n < self.batch_size:
            self._staging[n:] = PAD_VALUE
        # BGR->RGB, HWC->CHW and scaling in one pass over the whole batch.
        np.multiply(self._staging[..., ::-1].transpose(0, 3, 1, 2), self._scale, out=self.batch, casting="unsafe")
        return Letterbox(scales=scales)
