"""Strict checks of the binding's arguments: each one is converted to exactly what the C ABI takes, or
rejected with a ValueError/TypeError whose message starts with the argument's name.

Why strict: ctypes converts silently (an int64 argument wraps 2**64 + 1 to 1; ``int()`` turns 2.9 into 2
and '3' into 3), and numpy converts strings and booleans to numbers. A wrong answer is worse than an error.
Integers go through ``operator.index`` (no floats, no strings, no bools) and their C range; floats must be
real numbers (no strings, no bools), finite and in range; arrays must hold real numbers (no bools, strings,
objects or complex numbers) and fit the C type.
"""

from __future__ import annotations

import math
import numbers
import operator
import reprlib
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

INT32 = (-(2**31), 2**31 - 1)
INT64_MAX = 2**63 - 1
_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = 6
_short.maxtuple = 6


class Status:
    """Status codes of the C ABI (``nms_status`` in nms_merger.h)."""

    OK = 0
    NULL_POINTER = 1
    BAD_COUNT = 2
    NONFINITE_BOX = 3
    INVERTED_BOX = 4
    NONFINITE_SCORE = 5
    BAD_THRESHOLD = 6
    BAD_TILE_ID = 7
    NONFINITE_OFFSET = 8
    BAD_METHOD = 9
    BAD_METRIC = 10
    CAPACITY = 11
    OUT_OF_MEMORY = 12
    INTERNAL = 13


class NmsError(Exception):
    """Base class of the errors raised by this package."""


class NmsInputError(NmsError, ValueError):
    """Invalid input. ``argument`` names the argument at fault; ``index`` is the offending box (or tile)
    index when one is to blame, else None; ``status`` is the C status code when the library said so."""

    def __init__(self, message: str, status: int = Status.OK, index: Optional[int] = None,
                 argument: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.index = index
        self.argument = argument


class NmsTypeError(NmsError, TypeError):
    """An argument of the wrong type; ``argument`` names it."""

    def __init__(self, message: str, argument: str) -> None:
        super().__init__(message)
        self.argument = argument


def show(value: Any) -> str:
    """A short repr for messages (an argument may be a million-element list)."""
    return _short.repr(value)


def _what(value: Any) -> str:
    return f"{type(value).__name__} {show(value)}"


def integer(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as a Python int in [low, high]: operator.index (no float, str or bool), then the range."""
    if isinstance(value, (bool, np.bool_)):
        raise NmsTypeError(f"{name} must be an integer, but got the bool {value!r}", name)
    try:
        v = operator.index(value)
    except TypeError:
        raise NmsTypeError(f"{name} must be an integer, but got {_what(value)}", name) from None
    if not low <= v <= high:
        raise NmsInputError(f"{name} must be in [{low}, {high}], but got {v}", argument=name)
    return v


def optional_count(name: str, value: Any) -> int:
    """None -> -1 (the C ABI's "no limit"), else an integer in [0, 2**63 - 1] (int64)."""
    return -1 if value is None else integer(name, value, 0, INT64_MAX)


def fraction(name: str, value: Any) -> float:
    """A real number in [0, 1] as a float: no str, no bool, no NaN or infinity."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise NmsTypeError(f"{name} must be a real number in [0, 1], but got {_what(value)}", name)
    try:
        v = float(value)
    except OverflowError:  # an int or Fraction beyond float range
        v = math.inf
    if not 0.0 <= v <= 1.0:  # false for NaN
        raise NmsInputError(f"{name} must be a finite number in [0, 1], but got {show(value)}", Status.BAD_THRESHOLD,
                            argument=name)
    return v


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise NmsTypeError(f"{name} must be True or False, but got {_what(value)}", name)
    return bool(value)


def choice(name: str, value: Any, options: dict[str, int]) -> int:
    if not isinstance(value, str):
        raise NmsTypeError(f"{name} must be one of {sorted(options)}, but got {_what(value)}", name)
    if value not in options:
        raise NmsInputError(f"{name} must be one of {sorted(options)}, but got {value!r}", argument=name)
    return options[value]


def _array(name: str, value: Any, what: str) -> np.ndarray:
    """np.asarray(value) of real numbers (int, uint or float dtype), else a TypeError naming ``name``."""
    if isinstance(value, np.ndarray):
        a = value
    else:
        try:
            a = np.asarray(value)
        except (ValueError, TypeError, OverflowError) as exc:  # ragged lists, objects numpy cannot read
            raise NmsTypeError(f"{name} must be {what}, but numpy cannot read {show(value)} as an array ({exc})",
                               name) from None
    if a.dtype.kind not in "iuf":
        raise NmsTypeError(f"{name} must be {what} (integer or float dtype), but got dtype {a.dtype}", name)
    return a


def float32_rows(name: str, value: Any, width: int, limit: int) -> tuple[npt.NDArray[np.float32], np.ndarray]:
    """An [N, width] float32 C array (an empty input may be 1-d) and the array as given (for messages).
    Values beyond float32 range become inf, which the library rejects naming the row."""
    a = _array(name, value, f"an [N, {width}] array of real numbers")
    if a.ndim == 1 and a.shape[0] == 0:
        a = a.reshape(0, width)
    if a.ndim != 2 or a.shape[1] != width:
        raise NmsInputError(f"{name} must have shape (N, {width}), but got {a.shape}", argument=name)
    if a.shape[0] > limit:
        raise NmsInputError(f"{name} has {a.shape[0]} rows, at most {limit} are accepted", Status.BAD_COUNT,
                            argument=name)
    if a.dtype == np.float32 and a.flags.c_contiguous:
        return a, a
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(a, dtype=np.float32), a


def float32_vector(name: str, value: Any, n: int) -> tuple[npt.NDArray[np.float32], np.ndarray]:
    a = _array(name, value, f"a length-{n} array of real numbers")
    if a.shape != (n,):
        raise NmsInputError(f"{name} must have shape ({n},), one per box, but got {a.shape}", argument=name)
    if a.dtype == np.float32 and a.flags.c_contiguous:
        return a, a
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(a, dtype=np.float32), a


def int32_vector(name: str, value: Any, n: int) -> npt.NDArray[np.int32]:
    a = _array(name, value, f"a length-{n} array of integers")
    if a.shape != (n,):
        raise NmsInputError(f"{name} must have shape ({n},), one per box, but got {a.shape}", argument=name)
    if a.dtype == np.int32 and a.flags.c_contiguous:
        return a
    if n == 0:
        return np.zeros(0, np.int32)
    if a.dtype.kind == "f":
        raise NmsTypeError(f"{name} must be integers, but got dtype {a.dtype}", name)
    if np.can_cast(a.dtype, np.int32, casting="safe"):
        return np.ascontiguousarray(a, dtype=np.int32)
    lo, hi = a.min(), a.max()
    if lo < INT32[0] or hi > INT32[1]:
        bad = int(np.flatnonzero((a < INT32[0]) | (a > INT32[1]))[0])
        raise NmsInputError(f"{name}[{bad}] = {int(a[bad])} does not fit in int32 [{INT32[0]}, {INT32[1]}]",
                            index=bad, argument=name)
    return np.ascontiguousarray(a, dtype=np.int32)
