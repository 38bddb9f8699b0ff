"""Tiling geometry: SAHI-compatible slices, border tiles shifted inside the frame (never padded).

Source: SAHI's get_slice_bboxes (sahi/slicing.py), issue 4.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

from conformance.config.tiled import SliceReference, TiledCriteria, load_tiled_criteria

FIX = "fix the tiler: walk rows then columns by tile - int(overlap*tile), shift the last tile back inside (SAHI)"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    criteria = load_tiled_criteria(metafunc.config.getoption("--tiled-criteria")).geometry
    if "reference" in metafunc.fixturenames:
        metafunc.parametrize("reference", criteria.reference, ids=[c.name for c in criteria.reference])
    if "frame_size" in metafunc.fixturenames:
        metafunc.parametrize("frame_size", criteria.frames, ids=[f"{w}x{h}" for w, h in criteria.frames])


def test_tile_origins_match_the_sahi_reference(tiled_tiler: Callable[..., Any], reference: SliceReference) -> None:
    (w, h), tile, overlap = reference.size, reference.tile, reference.overlap
    tiles = np.asarray(tiled_tiler(w, h, tile, overlap)).reshape(-1, 4)
    expected = [(x, y) for y in reference.ys for x in reference.xs]
    found = [tuple(int(v) for v in t[:2]) for t in tiles]
    assert found == expected, (
        f"{w}x{h} at {tile}/{overlap}: found {len(found)} tile origins {found}, expected {len(expected)} "
        f"{expected}; {FIX}; source: SAHI get_slice_bboxes (sahi/slicing.py)")


def test_tiles_stay_inside_the_frame_and_cover_it(tiled_tiler: Callable[..., Any], frame_size: tuple[int, int],
                                                  tiled_criteria: TiledCriteria) -> None:
    w, h = frame_size
    tile, overlap = tiled_criteria.geometry.tile, tiled_criteria.geometry.overlap
    tiles = np.asarray(tiled_tiler(w, h, tile, overlap)).reshape(-1, 4)
    outside = [t.tolist() for t in tiles if t[0] < 0 or t[1] < 0 or t[2] > w or t[3] > h]
    assert not outside, (f"{w}x{h}: tiles {outside} reach outside the frame (padding); expected every tile inside "
                         f"[0,{w}]x[0,{h}]; {FIX}; source: issue 4 'Tiling', SAHI get_slice_bboxes")
    sizes = {(int(t[2] - t[0]), int(t[3] - t[1])) for t in tiles}
    assert sizes == {(min(tile, w), min(tile, h))}, (
        f"{w}x{h}: tile sizes {sorted(sizes)}, expected all {min(tile, w)}x{min(tile, h)}; {FIX}")
    covered = np.zeros((h, w), dtype=bool)
    for x0, y0, x1, y1 in tiles.tolist():
        covered[y0:y1, x0:x1] = True
    assert covered.all(), f"{w}x{h}: {int((~covered).sum())} pixels are in no tile; expected full coverage; {FIX}"


def test_neighbouring_tiles_overlap_by_at_least_the_configured_amount(tiled_tiler: Callable[..., Any],
                                                                      frame_size: tuple[int, int],
                                                                      tiled_criteria: TiledCriteria) -> None:
    w, h = frame_size
    tile, overlap = tiled_criteria.geometry.tile, tiled_criteria.geometry.overlap
    tiles = np.asarray(tiled_tiler(w, h, tile, overlap)).reshape(-1, 4)
    need = int(overlap * tile)
    for axis, length in ((0, w), (1, h)):
        starts = sorted({int(v) for v in tiles[:, axis]})
        ends = sorted({int(v) for v in tiles[:, axis + 2]})
        gaps = [e - s for s, e in zip(starts[1:], ends[:-1])]
        short = [g for g in gaps if g < min(need, length)]
        assert not short, (f"{w}x{h}: overlaps {gaps} px along {'xy'[axis]}, expected each >= {need} px "
                           f"(int({overlap}*{tile})); an object on a seam must fit whole in one tile; {FIX}")
