"""The binding never answers a call it could not take exactly (issue 11, "No silent wrong answers").

Hypothesis drives ``nms_cpp.nms`` and ``nms_cpp.merge_tiles`` with a valid call in which some arguments are
replaced by arbitrary Python values (huge and negative ints, floats with NaN and infinities, strings,
bytes, bools, complex numbers, fractions, decimals, None, nested lists, numpy scalars and arrays of every
dtype). A small specification written here, independently of the binding, says which arguments are
invalid; then the call must give the oracle's answer when none is, and otherwise raise a ValueError or
TypeError that names one of the invalid arguments (``exc.argument``, and in the message), never another
answer and never another exception.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any, Optional

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="needs hypothesis: pip install -e '.[dev]'")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import nms_cpp  # noqa: E402
from conformance.nms import oracle  # noqa: E402
from conformance.nms.library import DEFAULT_LIB, build_default_library  # noqa: E402

INT64_MAX = 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
NMS_ARGS = ("boxes", "scores", "class_ids", "iou_threshold", "score_threshold", "max_detections", "class_agnostic")
MERGE_ARGS = ("boxes", "scores", "class_ids", "tile_ids", "tile_offsets", "method", "match_metric", "threshold",
              "class_agnostic")
#: Arguments whose expected shape depends on the number of boxes.
PER_BOX = {"scores", "class_ids", "tile_ids"}
SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def built_library() -> None:
    if not DEFAULT_LIB.exists():
        build_default_library()


# ---- arbitrary Python values -------------------------------------------------------------------------

def _numpy_scalars() -> st.SearchStrategy[Any]:
    return st.sampled_from([np.float32(0.5), np.float64(1.0), np.float64("nan"), np.float16(0.25), np.int64(3),
                            np.int8(-1), np.uint64(2**64 - 1), np.bool_(True), np.bool_(False), np.complex64(1)])


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.integers(), st.sampled_from([2**63 - 1, 2**63, 2**64 + 1,
                                                                                   -(2**63) - 1, 2**31, -(2**31) - 1]),
    st.floats(), st.sampled_from([0.0, 0.5, 1.0, 2.9, -0.0, 1e300, -1e-300, math.nan, math.inf]),
    st.text(max_size=4), st.sampled_from(["3", "0.5", "nms", "iou", "IOU", ""]), st.binary(max_size=3),
    st.complex_numbers(max_magnitude=4), st.fractions(max_denominator=7), st.decimals(allow_nan=True, places=2),
    _numpy_scalars(),
)
_dtypes = st.sampled_from(["f2", "f4", "f8", "i1", "i4", "i8", "u1", "u8", "?", "c8", "U2"])
_arrays = hnp.arrays(_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
_box_rows = st.lists(st.lists(st.one_of(st.floats(width=32), st.integers(-3, 20), st.floats()), min_size=4,
                              max_size=4), max_size=6)
anything = st.one_of(
    _scalars, _arrays, _box_rows,
    st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=5), st.tuples(inner, inner, inner, inner),
                                                   st.dictionaries(st.text(max_size=2), inner, max_size=2)),
                 max_leaves=12),
)


# ---- valid calls -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    kind: str  # "nms" or "merge"
    args: dict[str, Any]


@st.composite
def valid_calls(draw: st.DrawFn, kind: str) -> Call:
    n = draw(st.integers(0, 6))
    xy = [(draw(st.integers(0, 10)), draw(st.integers(0, 10)), draw(st.integers(0, 6)), draw(st.integers(0, 6)))
          for _ in range(n)]
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in xy], np.float32).reshape(-1, 4)
    scores = np.array([draw(st.sampled_from([0.25, 0.5, 0.75, 1.0])) for _ in range(n)], np.float32)
    classes = np.array([draw(st.integers(0, 2)) for _ in range(n)], np.int32)
    common = {"boxes": boxes, "scores": scores, "class_ids": draw(st.one_of(st.none(), st.just(classes))),
              "class_agnostic": draw(st.booleans())}
    fraction = st.sampled_from([0.0, 0.25, 0.5, 1.0])
    if kind == "nms":
        return Call(kind, {**common, "iou_threshold": draw(fraction), "score_threshold": draw(fraction),
                           "max_detections": draw(st.one_of(st.none(), st.integers(0, 8)))})
    tiles = draw(st.integers(1, 3))
    return Call(kind, {**common, "tile_ids": np.array([draw(st.integers(0, tiles - 1)) for _ in range(n)], np.int32),
                       "tile_offsets": np.array([[draw(st.integers(0, 8)), draw(st.integers(0, 8))]
                                                 for _ in range(tiles)], np.float32),
                       "method": draw(st.sampled_from(["nms", "greedy_nmm"])),
                       "match_metric": draw(st.sampled_from(["iou", "ios"])), "threshold": draw(fraction)})


@st.composite
def calls(draw: st.DrawFn) -> Call:
    """A valid call with zero, one or two of its arguments replaced by arbitrary values."""
    call = draw(valid_calls(draw(st.sampled_from(["nms", "merge"]))))
    names = NMS_ARGS if call.kind == "nms" else MERGE_ARGS
    chosen = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    return replace(call, args={**call.args, **{name: draw(anything) for name in chosen}})


# ---- the specification -------------------------------------------------------------------------------

def real_array(value: Any) -> Optional[np.ndarray]:
    """The value as a numpy array of real numbers (int, uint or float dtype), or None if it is not one."""
    try:
        a = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        return None
    return a if a.dtype.kind in "iuf" else None


def as_float32(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return a.astype(np.float32)


def fraction_ok(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return False
    try:
        return 0.0 <= float(value) <= 1.0
    except OverflowError:
        return False


def count_ok(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        return 0 <= operator.index(value) <= INT64_MAX
    except TypeError:
        return False


def int_vector_ok(value: Any, n: int) -> bool:
    a = real_array(value)
    if a is None or a.shape != (n,):
        return False
    return n == 0 or (a.dtype.kind in "iu" and bool(((a >= INT32_MIN) & (a <= INT32_MAX)).all()))


@dataclass(frozen=True)
class Verdict:
    """The arguments that may be blamed (empty: the call is valid), and the converted arrays if it is."""

    blame: frozenset[str]
    arrays: dict[str, Any]


def judge(call: Call) -> Verdict:
    a = call.args
    bad: set[str] = set()
    boxes = real_array(a["boxes"])
    if boxes is not None and boxes.shape == (0,):
        boxes = boxes.reshape(0, 4)
    if boxes is None or boxes.ndim != 2 or boxes.shape[1] != 4:
        # Without boxes there is no N: the binding checks boxes first, so only N-free arguments may be blamed.
        bad.add("boxes")
        n = -1
    else:
        n = boxes.shape[0]
    scores = real_array(a["scores"])
    if n >= 0 and (scores is None or scores.shape != (n,)):
        bad.add("scores")
    if n >= 0 and a["class_ids"] is not None and not int_vector_ok(a["class_ids"], n):
        bad.add("class_ids")
    if not isinstance(a["class_agnostic"], (bool, np.bool_)):
        bad.add("class_agnostic")
    if call.kind == "nms":
        bad |= {k for k in ("iou_threshold", "score_threshold") if not fraction_ok(a[k])}
        if not count_ok(a["max_detections"]):
            bad.add("max_detections")
    else:
        if not fraction_ok(a["threshold"]):
            bad.add("threshold")
        if n >= 0 and not int_vector_ok(a["tile_ids"], n):
            bad.add("tile_ids")
        offsets = real_array(a["tile_offsets"])
        if offsets is not None and offsets.shape == (0,):
            offsets = offsets.reshape(0, 2)
        if offsets is None or offsets.ndim != 2 or offsets.shape[1] != 2:
            bad.add("tile_offsets")
        bad |= {k for k, options in (("method", ("nms", "greedy_nmm")), ("match_metric", ("iou", "ios")))
                if not (isinstance(a[k], str) and a[k] in options)}
    if bad:
        return Verdict(frozenset(bad), {})
    # Structurally valid: now the values, per box, as float32 (what the library receives).
    assert boxes is not None and scores is not None
    b32, s32 = as_float32(boxes), as_float32(scores)
    if not np.isfinite(b32).all() or (b32[:, 2] < b32[:, 0]).any() or (b32[:, 3] < b32[:, 1]).any():
        bad.add("boxes")
    if not np.isfinite(s32).all():
        bad.add("scores")
    arrays: dict[str, Any] = {"boxes": b32, "scores": s32, "class_ids": None if a["class_ids"] is None else
                              np.asarray(a["class_ids"]).astype(np.int32)}
    if call.kind == "merge":
        off32 = as_float32(real_array(a["tile_offsets"]).reshape(-1, 2))  # type: ignore[union-attr]
        tiles = np.asarray(a["tile_ids"]).astype(np.int64) if n else np.zeros(0, np.int64)
        if not np.isfinite(off32).all():
            bad.add("tile_offsets")
        if ((tiles < 0) | (tiles >= off32.shape[0])).any():
            bad.add("tile_ids")
        elif "boxes" not in bad and "tile_offsets" not in bad:
            frame = oracle.frame_boxes(b32, tiles, off32)
            if not np.isfinite(frame).all():
                bad |= {"boxes", "tile_offsets"}  # finite apart, beyond float32 together
        arrays.update(tile_ids=tiles.astype(np.int32), tile_offsets=off32)
    return Verdict(frozenset(bad), arrays)


def expected_answer(call: Call, arrays: dict[str, Any]) -> Any:
    a = call.args
    if call.kind == "nms":
        return oracle.nms(arrays["boxes"], arrays["scores"], arrays["class_ids"], float(a["iou_threshold"]),
                          float(a["score_threshold"]), None if a["max_detections"] is None else
                          operator.index(a["max_detections"]), bool(a["class_agnostic"]))
    return oracle.merge_tiles(arrays["boxes"], arrays["scores"], arrays["class_ids"], arrays["tile_ids"],
                              arrays["tile_offsets"], a["method"], a["match_metric"], float(a["threshold"]),
                              bool(a["class_agnostic"]))


def run(call: Call) -> Any:
    if call.kind == "nms":
        return nms_cpp.nms(**call.args)
    return nms_cpp.merge_tiles(**call.args)


def shown(call: Call) -> str:
    return ", ".join(f"{k}={nms_cpp._args.show(v)}" for k, v in call.args.items())


@SETTINGS
@given(call=calls())
def test_the_binding_answers_correctly_or_names_the_bad_argument(call: Call) -> None:
    verdict = judge(call)
    try:
        got = run(call)
    except (ValueError, TypeError) as exc:
        argument = getattr(exc, "argument", None)
        assert verdict.blame, (
            f"{call.kind}({shown(call)}) raised {type(exc).__name__}: {exc}; expected an answer: every argument "
            f"is valid (fix the checks in nms_cpp/_args.py; issue 11)")
        assert argument in verdict.blame and re.search(rf"(?<!\w){argument}(?!\w)", str(exc)), (
            f"{call.kind}({shown(call)}) raised {type(exc).__name__}({str(exc)!r}) blaming {argument!r}; expected "
            f"it to name one of the invalid arguments {sorted(verdict.blame)} (issue 11)")
        return
    assert not verdict.blame, (
        f"{call.kind}({shown(call)}) answered {got!r}; expected a ValueError or TypeError naming one of "
        f"{sorted(verdict.blame)}: a call the library cannot take exactly must not be answered (issue 11)")
    want = expected_answer(call, verdict.arrays)
    if call.kind == "nms":
        assert np.array_equal(got, want), (
            f"nms({shown(call)}) kept {got.tolist()}, the oracle {want.tolist()}; expected the same (issue 11)")
    else:
        assert np.array_equal(got.indices, want.indices) and np.array_equal(got.boxes, want.boxes), (
            f"merge_tiles({shown(call)}) gave {got}, the oracle {want}; expected the same (issue 11)")


# ---- the cases the issue names, spelled out ----------------------------------------------------------

BOXES = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
SCORES = np.array([0.9, 0.8, 0.7], np.float32)


@pytest.mark.parametrize("value,error,message", [
    (2**64 + 1, ValueError, r"max_detections must be in \[0, 9223372036854775807\], but got 18446744073709551617"),
    (2**63, ValueError, r"max_detections must be in \[0, 9223372036854775807\], but got 9223372036854775808"),
    (-1, ValueError, r"max_detections must be in \[0, "),
    (2.9, TypeError, r"max_detections must be an integer, but got float 2.9"),
    ("3", TypeError, r"max_detections must be an integer, but got str '3'"),
    (True, TypeError, r"max_detections must be an integer, but got the bool True"),
    (Decimal(3), TypeError, r"max_detections must be an integer"),
], ids=["2**64+1-does-not-wrap", "2**63-is-not-negative", "negative", "float", "numeric-string", "bool", "decimal"])
def test_max_detections_is_an_int64_count(value: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as exc:
        nms_cpp.nms(BOXES, SCORES, None, 0.5, max_detections=value)
    assert getattr(exc.value, "argument", None) == "max_detections", (
        f"expected the error to blame max_detections, got {exc.value!r}")


@pytest.mark.parametrize("value", [2**63 - 1, np.int64(2), np.uint8(1), 0])
def test_max_detections_accepts_every_int64_count(value: Any) -> None:
    keep = nms_cpp.nms(BOXES, SCORES, None, 0.5, max_detections=value)
    assert keep.tolist() == [0, 2][: int(value)], f"max_detections={value!r} kept {keep.tolist()}, expected " \
                                                  f"{[0, 2][: int(value)]}"


@pytest.mark.parametrize("name,value,error", [
    ("iou_threshold", "0.5", TypeError), ("iou_threshold", True, TypeError), ("iou_threshold", math.nan, ValueError),
    ("iou_threshold", 10**400, ValueError), ("score_threshold", math.inf, ValueError),
    ("score_threshold", -1e-300, ValueError), ("class_agnostic", 1, TypeError), ("class_agnostic", "yes", TypeError),
], ids=lambda v: repr(v)[:20])
def test_scalar_arguments_are_not_coerced(name: str, value: Any, error: type) -> None:
    kwargs: dict[str, Any] = {"iou_threshold": 0.5, name: value}
    with pytest.raises(error, match=rf"^{name} must be") as exc:
        nms_cpp.nms(BOXES, SCORES, None, **kwargs)
    assert getattr(exc.value, "argument", None) == name, f"expected the error to blame {name}, got {exc.value!r}"


def test_fraction_thresholds_are_real_numbers() -> None:
    half: Any = Fraction(1, 2)  # any numbers.Real is accepted, not only float
    three_quarters: Any = np.float32(0.75)
    keep = nms_cpp.nms(BOXES, SCORES, None, half, score_threshold=three_quarters)
    assert keep.tolist() == [0], f"Fraction(1, 2) / np.float32(0.75) thresholds kept {keep.tolist()}, expected [0]"
