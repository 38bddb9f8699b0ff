"""SAHI-compatible slice geometry.

Same walk as SAHI's ``get_slice_bboxes`` (sahi/slicing.py): overlap is
``int(ratio * tile)``, rows then columns, and a tile that would cross the right or bottom edge is
shifted back inside the frame (never padded). A frame smaller than a tile gives tiles clipped to the
frame. 1920x1080 at 640/0.2 gives exactly 8 tiles, one batch of the b8 engine.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from app.tiled.errors import ConfigError


def validate_tiling(tile: int, overlap: float) -> None:
    """Raise :class:`ConfigError` unless ``tile`` and ``overlap`` describe a tiling that advances."""
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 32:
        raise ConfigError(f"tile size must be an integer >= 32, but got {tile!r}")
    if not 0.0 <= float(overlap) < 1.0:
        raise ConfigError(f"overlap must be in [0, 1), but got {overlap!r}")
    if tile - int(overlap * tile) <= 0:
        raise ConfigError(f"tile {tile} with overlap {overlap} does not advance")


def slice_boxes(width: int, height: int, tile: int = 640, overlap: float = 0.2) -> npt.NDArray[np.int32]:
    """Tile rectangles ``[T, 4]`` as ``x0, y0, x1, y1`` (exclusive ends) in frame pixels.

    Rows are walked top to bottom, columns left to right, like SAHI.
    """
    validate_tiling(tile, overlap)
    if width <= 0 or height <= 0:
        raise ConfigError(f"frame size must be positive, but got {width}x{height}")
    step = tile - int(overlap * tile)
    xs = _starts(width, tile, step)
    ys = _starts(height, tile, step)
    boxes = [(x0, y0, min(x0 + tile, width), min(y0 + tile, height)) for y0 in ys for x0 in xs]
    return np.asarray(boxes, dtype=np.int32).reshape(-1, 4)


def _starts(length: int, tile: int, step: int) -> list[int]:
    """Start offsets along one axis: advance by ``step``; the last tile is shifted back inside."""
    starts: list[int] = []
    start = 0
    while True:
        end = start + tile
        if end >= length:
            starts.append(max(0, length - tile))
            return starts
        starts.append(start)
        start = end - (tile - step)
