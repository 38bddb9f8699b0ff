"""Slicing a frame into the engine's uint8 tile batch: one preallocated buffer, reused for every frame.

The batch is ``[B, H, W, 3]`` uint8, BGR, exactly the frame's bytes: casting, channel order, layout and
scaling are the model's work (see :mod:`app.tiled.engines`), so the host's whole job here is the memory
traffic of copying 8 tiles (9.8 MB for a 1080p frame at 640). A tile that is not the engine's input size
is letterboxed: scaled by ``r = min(S/w, S/h)`` and placed top-left on grey (114) padding, so mapping back
is ``x_frame = x_input / r + tile_x0``.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from app.tiled.errors import ConfigError

PAD_VALUE = 114


def letterbox_scale(tile_w: int, tile_h: int, input_w: int, input_h: int) -> float:
    """Scale that fits a ``tile_w x tile_h`` tile into the engine input, aspect preserved."""
    return min(input_w / tile_w, input_h / tile_h)


class BatchSlicer:
    """Copies up to ``batch_size`` tiles of a frame into :attr:`batch`, allocated once.

    :meth:`fill` allocates no array: tiles are copied (or resized) in place, padding rows are grey, and the
    per-tile letterbox scales are written into :attr:`scales`, also reused. ``buffer``, when given, is the
    batch: a GPU engine's page-locked input (:attr:`app.tiled.contract.Engine` ``input_buffer``), so that the
    engine's copy to the device reads it by DMA instead of the driver staging it with a second CPU copy.
    """

    def __init__(self, batch_size: int, input_hw: tuple[int, int],
                 buffer: npt.NDArray[np.uint8] | None = None) -> None:
        if batch_size <= 0:
            raise ConfigError(f"batch size must be positive, but got {batch_size}")
        self.batch_size = batch_size
        self.input_hw = input_hw
        h, w = input_hw
        if buffer is None:
            buffer = np.empty((batch_size, h, w, 3), dtype=np.uint8)
        elif buffer.shape != (batch_size, h, w, 3) or buffer.dtype != np.uint8 or not buffer.flags.c_contiguous:
            raise ConfigError(f"slicer buffer {buffer.dtype} {list(buffer.shape)} does not match the batch; expected "
                              f"uint8 {[batch_size, h, w, 3]} (C-contiguous)")
        buffer[...] = PAD_VALUE
        self.batch = buffer
        self.scales = np.ones(batch_size, dtype=np.float32)
        self._padded_from = batch_size  # rows from here on already hold grey padding

    def fill(self, frame: npt.NDArray[np.uint8], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """Write the ``tiles`` of ``frame`` (BGR HWC uint8) into :attr:`batch`; returns :attr:`scales`.

        Rows past ``len(tiles)`` are padding: they hold grey and their results must be ignored.
        """
        n = len(tiles)
        if n > self.batch_size:
            raise ConfigError(f"{n} tiles do not fit a batch of {self.batch_size}")
        ih, iw = self.input_hw
        for i, (x0, y0, x1, y1) in enumerate(tiles.tolist()):
            dst = self.batch[i]
            if y1 - y0 == ih and x1 - x0 == iw:
                dst[...] = frame[y0:y1, x0:x1]
                self.scales[i] = 1.0
                continue
            r = letterbox_scale(x1 - x0, y1 - y0, iw, ih)
            nw, nh = min(iw, round((x1 - x0) * r)), min(ih, round((y1 - y0) * r))
            dst[...] = PAD_VALUE
            cv2.resize(frame[y0:y1, x0:x1], (nw, nh), dst=dst[:nh, :nw], interpolation=cv2.INTER_LINEAR)
            self.scales[i] = r
        if n < self._padded_from:
            self.batch[n:self._padded_from] = PAD_VALUE
        self._padded_from = n
        self.scales[n:] = 1.0
        return self.scales
