"""Timing for the NMS benchmark checks: interleaved best-of rounds, the C++ floor probe, figure files.

Why interleaved best-of: on a shared machine a burst of load hits whatever runs at that moment; taking
each contender's best over rounds that alternate between them compares them under the same conditions.
"""

from __future__ import annotations

import ctypes
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from conformance.nms.library import NMS_DIR, build_default_library

FLOOR_LIB = NMS_DIR / "build" / "libnms_floor.so"


def best_of(call: Callable[[], Any], calls: int) -> float:
    """Fastest of `calls` calls, in seconds."""
    best = float("inf")
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def interleaved_best(calls: dict[str, Callable[[], Any]], rounds: int, inner: dict[str, int],
                     budget_s: float = float("inf")) -> dict[str, float]:
    """Each contender's best time (seconds) over `rounds` rounds that call every contender in turn
    (`inner[name]` calls per round, default 1); stops early once `budget_s` is spent."""
    best = {name: float("inf") for name in calls}
    start = time.perf_counter()
    for _ in range(rounds):
        for name, call in calls.items():
            best[name] = min(best[name], best_of(call, inner.get(name, 1)))
        if time.perf_counter() - start > budget_s:
            break
    return best


@dataclass(frozen=True)
class Floor:
    """What any greedy NMS must do on an input at least, timed in C++ (nanoseconds, best of reps)."""

    std_sort_ns: float
    radix_sort_ns: float
    iou_pass_ns: float

    @property
    def floor_ns(self) -> float:
        """The faster sort of the candidates plus one pass of IoU tests."""
        return min(self.std_sort_ns, self.radix_sort_ns) + self.iou_pass_ns


class FloorProbe:
    """nms_cpp/build/libnms_floor.so (built by `make -C nms_cpp floor`, made here if missing)."""

    def __init__(self, path: Path = FLOOR_LIB) -> None:
        if not path.is_file():
            build_default_library()
        self._lib = ctypes.CDLL(str(path))
        self._lib.nms_floor_probe.restype = ctypes.c_int32
        self._lib.nms_floor_probe.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_double,
                                              ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p]

    def measure(self, boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], iou: float,
                reps: int) -> Floor:
        b = np.ascontiguousarray(boxes, np.float32)
        s = np.ascontiguousarray(scores, np.float32)
        out = np.zeros(3, np.float64)
        checksum = ctypes.c_int64(0)
        status = self._lib.nms_floor_probe(b.ctypes.data, s.ctypes.data, len(s), iou, reps, out.ctypes.data,
                                           ctypes.byref(checksum))
        if status != 0:
            raise RuntimeError(f"nms_floor_probe refused its input (status {status}, {len(s)} boxes, iou {iou})")
        return Floor(*(float(v) for v in out))


def write_figures(reports_dir: Path, name: str, figures: dict[str, Any]) -> Path:
    """reports/benchmarks/nms_<name>.json (temp file then rename: never half-written)."""
    out = reports_dir / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".nms_{name}.json.tmp"
    tmp.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), **figures}, indent=2) + "\n", encoding="utf-8")
    path = out / f"nms_{name}.json"
    os.replace(tmp, path)
    return path
