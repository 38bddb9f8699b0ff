"""libnms_merger never crashes: every entry point validates its input and returns a status code that the
binding turns into an exception naming the bad box. Run under the ASan+UBSan build by
tests/test_nms_sanitizer.py. Contract: nms_cpp/include/nms_merger.h; source: issue 3.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any, Callable

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the NMS checks need hypothesis: pip install -e '.[nms]'")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from conformance.nms.examples import nms_settings  # noqa: E402
from conformance.nms import oracle  # noqa: E402
from conformance.nms.scenes import Scene, small_scenes  # noqa: E402

FIX = "validate it in the extern \"C\" layer (nms_cpp/src/nms_api.cpp) and return a status code (issue 3)"
BAD_VALUES = [math.nan, math.inf, -math.inf]


@st.composite
def corrupted_scenes(draw: st.DrawFn) -> tuple[Scene, str]:
    """A small valid scene with one to three boxes corrupted (NaN/inf coordinate, inverted, bad score)."""
    scene = draw(small_scenes(max_boxes=10).filter(lambda s: len(s) > 0))
    boxes, scores = scene.boxes.copy(), scene.scores.copy()
    kinds = []
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(scene) - 1))
        kind = draw(st.sampled_from(["coordinate", "inverted", "score"]))
        kinds.append(f"{kind}@{i}")
        if kind == "coordinate":
            boxes[i, draw(st.integers(0, 3))] = draw(st.sampled_from(BAD_VALUES))
        elif kind == "inverted":
            axis = draw(st.integers(0, 1))
            boxes[i, axis + 2] = boxes[i, axis] - draw(st.sampled_from([1e-3, 1.0, 1e30]))
        else:
            scores[i] = draw(st.sampled_from(BAD_VALUES))
    return Scene(boxes, scores, scene.class_ids), ",".join(kinds)


@nms_settings()
@given(bad=corrupted_scenes(), method=st.sampled_from(["nms", "greedy_nmm", None]))
def test_invalid_boxes_are_rejected_naming_the_lowest_bad_index(nms_lib: Any, bad: tuple[Scene, str],
                                                                 method: Any) -> None:
    import nms_cpp

    scene, what = bad
    with pytest.raises(oracle.OracleInputError) as want:
        oracle.nms(scene.boxes, scene.scores, scene.class_ids, 0.5)
    with pytest.raises(nms_cpp.NmsInputError) as got:
        if method is None:
            nms_lib.nms(scene.boxes, scene.scores, scene.class_ids, 0.5)
        else:
            n = len(scene)
            nms_lib.merge_tiles(scene.boxes, scene.scores, scene.class_ids, np.zeros(n, np.int32),
                                np.zeros((1, 2), np.float32), method, "iou", 0.5)
    assert got.value.index == want.value.index and f"box {want.value.index}" in str(got.value), (
        f"corrupted input ({what}) was reported as {str(got.value)!r} (index {got.value.index}); expected the "
        f"lowest bad box, {want.value.index}, named in the message; {FIX}"
    )


def _raw_greedy(lib: Any, **kw: Any) -> int:
    n = kw.get("n", 2)
    boxes = (ctypes.c_float * 8)(0, 0, 1, 1, 0, 0, 2, 2)
    scores = (ctypes.c_float * 2)(0.9, 0.8)
    out = (ctypes.c_int64 * 2)()
    count, bad = ctypes.c_int64(-7), ctypes.c_int64(0)
    args = dict(boxes=boxes, scores=scores, class_ids=None, n=n, iou=0.5, score=0.0, max_det=-1, agnostic=0,
                out=out, cap=2, count=ctypes.byref(count), bad=ctypes.byref(bad))
    args.update({k: v for k, v in kw.items() if k != "n"})
    status: int = lib.raw.nms_greedy(*args.values())
    assert count.value == -7 or status == 0, f"nms_greedy wrote *out_count ({count.value}) despite status {status}"
    return status


def _raw_merge(lib: Any, **kw: Any) -> int:
    boxes = (ctypes.c_float * 8)(0, 0, 1, 1, 0, 0, 2, 2)
    scores = (ctypes.c_float * 2)(0.9, 0.8)
    tiles = (ctypes.c_int32 * 2)(0, 0)
    offsets = (ctypes.c_float * 2)(0, 0)
    ob, os_ = (ctypes.c_float * 8)(), (ctypes.c_float * 2)()
    oc, ok = (ctypes.c_int32 * 2)(), (ctypes.c_int64 * 2)()
    count, bad = ctypes.c_int64(0), ctypes.c_int64(0)
    args = dict(boxes=boxes, scores=scores, class_ids=None, tiles=tiles, n=2, offsets=offsets, n_tiles=1,
                method=1, metric=0, thr=0.5, agnostic=0, ob=ob, os=os_, oc=oc, ok=ok, cap=2,
                count=ctypes.byref(count), bad=ctypes.byref(bad))
    args.update(kw)
    status: int = lib.raw.nms_merge_tiles(*args.values())
    return status


RAW_CASES: list[tuple[str, Callable[[Any], int], str]] = [
    ("greedy-null-boxes", lambda lib: _raw_greedy(lib, boxes=None), "NULL_POINTER"),
    ("greedy-null-scores", lambda lib: _raw_greedy(lib, scores=None), "NULL_POINTER"),
    ("greedy-null-out", lambda lib: _raw_greedy(lib, out=None), "NULL_POINTER"),
    ("greedy-null-count", lambda lib: _raw_greedy(lib, count=None), "NULL_POINTER"),
    ("greedy-null-bad-index", lambda lib: _raw_greedy(lib, bad=None), "NULL_POINTER"),
    ("greedy-negative-n", lambda lib: _raw_greedy(lib, n=-1), "BAD_COUNT"),
    ("greedy-absurd-n", lambda lib: _raw_greedy(lib, n=2**40, cap=2**40), "BAD_COUNT"),
    ("greedy-max-det-below-unlimited", lambda lib: _raw_greedy(lib, max_det=-2), "BAD_COUNT"),
    ("greedy-capacity-too-small", lambda lib: _raw_greedy(lib, cap=1), "CAPACITY"),
    ("greedy-nan-threshold", lambda lib: _raw_greedy(lib, iou=math.nan), "BAD_THRESHOLD"),
    ("greedy-threshold-above-one", lambda lib: _raw_greedy(lib, iou=1.0000001), "BAD_THRESHOLD"),
    ("greedy-negative-score-threshold", lambda lib: _raw_greedy(lib, score=-0.1), "BAD_THRESHOLD"),
    ("merge-null-tiles", lambda lib: _raw_merge(lib, tiles=None), "NULL_POINTER"),
    ("merge-null-offsets", lambda lib: _raw_merge(lib, offsets=None), "NULL_POINTER"),
    ("merge-null-out-boxes", lambda lib: _raw_merge(lib, ob=None), "NULL_POINTER"),
    ("merge-negative-tiles", lambda lib: _raw_merge(lib, n_tiles=-3), "BAD_COUNT"),
    ("merge-absurd-tiles", lambda lib: _raw_merge(lib, n_tiles=2**40), "BAD_COUNT"),
    ("merge-zero-tiles-with-boxes", lambda lib: _raw_merge(lib, n_tiles=0), "BAD_TILE_ID"),
    ("merge-tile-id-out-of-range", lambda lib: _raw_merge(lib, tiles=(ctypes.c_int32 * 2)(0, 1)), "BAD_TILE_ID"),
    ("merge-negative-tile-id", lambda lib: _raw_merge(lib, tiles=(ctypes.c_int32 * 2)(-1, 0)), "BAD_TILE_ID"),
    ("merge-nan-offset", lambda lib: _raw_merge(lib, offsets=(ctypes.c_float * 2)(math.nan, 0)), "NONFINITE_OFFSET"),
    ("merge-overflowing-offset",
     lambda lib: _raw_merge(lib, offsets=(ctypes.c_float * 2)(3.4e38, 0), boxes=(ctypes.c_float * 8)(
         0, 0, 3.4e38, 1, 0, 0, 2, 2)), "NONFINITE_BOX"),
    ("merge-unknown-method", lambda lib: _raw_merge(lib, method=7), "BAD_METHOD"),
    ("merge-unknown-metric", lambda lib: _raw_merge(lib, metric=-1), "BAD_METRIC"),
    ("merge-threshold-below-zero", lambda lib: _raw_merge(lib, thr=-1e-9), "BAD_THRESHOLD"),
]


@pytest.mark.parametrize("call,expected", [(c, e) for _, c, e in RAW_CASES], ids=[i for i, _, _ in RAW_CASES])
def test_c_entry_points_return_a_status_for_bad_arguments(nms_lib: Any, call: Callable[[Any], int],
                                                           expected: str) -> None:
    import nms_cpp

    status = call(nms_lib)
    want = getattr(nms_cpp.Status, expected)
    assert status == want, (
        f"the C entry point returned status {status} ({nms_lib.status_message(status)!r}), expected "
        f"{want} ({expected}); {FIX}"
    )


def test_empty_input_is_valid_and_gives_nothing(nms_lib: Any) -> None:
    import nms_cpp

    empty = np.zeros((0, 4), np.float32)
    try:
        keep = nms_lib.nms(empty, np.zeros(0, np.float32), None, 0.5)
        merged = nms_lib.merge_tiles(empty, np.zeros(0, np.float32), None, np.zeros(0, np.int32),
                                     np.zeros((0, 2), np.float32), "greedy_nmm", "ios", 0.5)
    except nms_cpp.NmsError as exc:
        pytest.fail(f"empty input was rejected ({exc}); expected it valid, giving nothing (a frame without "
                    f"detections is normal); {FIX}", pytrace=False)
    assert keep.shape == (0,) and len(merged) == 0, (
        f"empty input gave {keep.tolist()} and {len(merged)} merged results; expected none; {FIX}"
    )


@nms_settings()
@given(
    boxes=st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=4, max_size=4),
                   max_size=8),
    tiles=st.lists(st.integers(-3, 3), max_size=8),
    offsets=st.lists(st.floats(width=32, allow_nan=True), max_size=6),
    thr=st.one_of(st.floats(-1, 2), st.just(math.nan)),
    method=st.sampled_from(["nms", "greedy_nmm"]),
    metric=st.sampled_from(["iou", "ios"]),
)
def test_arbitrary_floats_never_crash_the_library(nms_lib: Any, boxes: list[list[float]], tiles: list[int],
                                                  offsets: list[float], thr: float, method: Any,
                                                  metric: Any) -> None:
    """Fuzz: any float32 values, tile ids and thresholds give the oracle's result or a typed error, never a
    crash (under the sanitizer build, never an out-of-bounds access either)."""
    import nms_cpp

    n = min(len(boxes), len(tiles))
    b = np.array(boxes[:n], np.float32).reshape(-1, 4)
    scores = np.linspace(1.0, 0.1, n, dtype=np.float32)
    t = np.array(tiles[:n], np.int32)
    off = np.array(offsets[: len(offsets) // 2 * 2], np.float32).reshape(-1, 2)
    calls = {
        "nms": (lambda: nms_lib.nms(b, scores, None, thr).tolist(),
                lambda: oracle.nms(b, scores, None, thr).tolist()),
        "merge_tiles": (lambda: nms_lib.merge_tiles(b, scores, None, t, off, method, metric, thr).indices.tolist(),
                        lambda: oracle.merge_tiles(b, scores, None, t, off, method, metric, thr).indices.tolist()),
    }
    for name, (lib_call, oracle_call) in calls.items():
        try:
            got: Any = lib_call()
        except nms_cpp.NmsInputError as exc:
            got = f"rejected ({exc})"
        try:
            want: Any = oracle_call()
        except oracle.OracleInputError as exc:
            want = f"rejected ({exc})"
        assert isinstance(got, str) == isinstance(want, str) and (isinstance(got, str) or got == want), (
            f"{name} on fuzzed input gave {got!r}, the oracle {want!r}; expected the same result or both "
            f"rejecting; {FIX}"
        )
