"""Python binding (ctypes) of ``libnms_merger.so``: greedy NMS and tile merging on numpy arrays.

The contract (strict ``>``, rank order score-descending then lower index, zero-area and non-finite
boxes, the exact double arithmetic) is written once at the top of ``nms_cpp/include/nms_merger.h``.

Usage::

    import nms_cpp
    keep = nms_cpp.nms(boxes, scores, class_ids, iou_threshold=0.45)
    merged = nms_cpp.merge_tiles(boxes, scores, class_ids, tile_ids, tile_offsets,
                                 method="greedy_nmm", match_metric="ios", threshold=0.5)

The library is loaded lazily from next to this file (``make -C nms_cpp`` builds it); ``load_library``
loads another build (a sanitizer build, a known-bad variant) for the conformance checks.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

__all__ = [
    "ABI_VERSION",
    "DEFAULT_LIBRARY",
    "LibraryNotFoundError",
    "MergeResult",
    "NmsError",
    "NmsInputError",
    "NmsLibrary",
    "Status",
    "load_library",
    "merge_tiles",
    "nms",
]

#: The NMS_ABI_VERSION this binding speaks.
ABI_VERSION = 1
#: The release build, next to this file.
DEFAULT_LIBRARY = Path(__file__).resolve().parent / "libnms_merger.so"
_MAX_BOXES = 16_777_216
_UNLIMITED = -1
_BUILD_HINT = "build it with `make -C nms_cpp` (or `make setup` at the repository root)"

Method = Literal["nms", "greedy_nmm"]
MatchMetric = Literal["iou", "ios"]
ArrayLike = npt.ArrayLike
PathLike = Union[str, Path]


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
    """Invalid input; ``index`` is the offending box (or tile) index when one is to blame, else None."""

    def __init__(self, message: str, status: int = Status.OK, index: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status
        self.index = index


class LibraryNotFoundError(NmsError, OSError):
    """The shared library is missing, unloadable (e.g. wrong architecture) or of another ABI version."""


@dataclass(frozen=True)
class MergeResult:
    """Frame detections after a tile merge, in rank order (score descending, ties by lower index).

    ``boxes`` [M,4] float32 xyxy frame coordinates, ``scores`` [M] float32, ``class_ids`` [M] int32,
    ``indices`` [M] int64: the input index of the box that kept each result (its keeper).
    """

    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]
    indices: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        m = self.indices.shape[0] if self.indices.ndim == 1 else -1
        if m < 0:
            raise ValueError(f"indices must be 1-d, but got shape {self.indices.shape}")
        if self.boxes.shape != (m, 4) or self.boxes.dtype != np.float32:
            raise ValueError(f"boxes must be float32 of shape ({m}, 4), but got {self.boxes.dtype} {self.boxes.shape}")
        if self.scores.shape != (m,) or self.scores.dtype != np.float32:
            raise ValueError(f"scores must be float32 of shape ({m},), but got {self.scores.dtype} {self.scores.shape}")
        if self.class_ids.shape != (m,) or self.class_ids.dtype != np.int32:
            raise ValueError(
                f"class_ids must be int32 of shape ({m},), but got {self.class_ids.dtype} {self.class_ids.shape}"
            )

    def __len__(self) -> int:
        return int(self.indices.shape[0])


_f32p = ctypes.POINTER(ctypes.c_float)
_i32p = ctypes.POINTER(ctypes.c_int32)
_i64p = ctypes.POINTER(ctypes.c_int64)


def _ptr(a: np.ndarray, kind: Any) -> Any:
    return a.ctypes.data_as(kind)


class NmsLibrary:
    """One loaded build of libnms_merger with typed ``nms`` and ``merge_tiles`` methods."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise LibraryNotFoundError(f"NMS library not found at {self.path}; {_BUILD_HINT}")
        try:
            lib = ctypes.CDLL(str(self.path))
        except OSError as exc:  # wrong architecture, missing dependency, not an ELF file
            raise LibraryNotFoundError(
                f"cannot load NMS library {self.path} ({exc}); rebuild it for this machine: {_BUILD_HINT}"
            ) from exc
        try:
            lib.nms_abi_version.restype = ctypes.c_int32
            lib.nms_abi_version.argtypes = []
            lib.nms_status_message.restype = ctypes.c_char_p
            lib.nms_status_message.argtypes = [ctypes.c_int32]
            lib.nms_greedy.restype = ctypes.c_int32
            lib.nms_greedy.argtypes = [
                _f32p, _f32p, _i32p, ctypes.c_int64, ctypes.c_double, ctypes.c_double, ctypes.c_int64,
                ctypes.c_int32, _i64p, ctypes.c_int64, _i64p, _i64p,
            ]
            lib.nms_merge_tiles.restype = ctypes.c_int32
            lib.nms_merge_tiles.argtypes = [
                _f32p, _f32p, _i32p, _i32p, ctypes.c_int64, _f32p, ctypes.c_int64, ctypes.c_int32,
                ctypes.c_int32, ctypes.c_double, ctypes.c_int32, _f32p, _f32p, _i32p, _i64p,
                ctypes.c_int64, _i64p, _i64p,
            ]
        except AttributeError as exc:
            raise LibraryNotFoundError(f"{self.path} is not libnms_merger ({exc}); {_BUILD_HINT}") from exc
        version = int(lib.nms_abi_version())
        if version != ABI_VERSION:
            raise LibraryNotFoundError(
                f"{self.path} has ABI version {version}, expected {ABI_VERSION}; {_BUILD_HINT}"
            )
        self._lib = lib

    def __repr__(self) -> str:
        return f"NmsLibrary({str(self.path)!r})"

    # -- raw access for the fuzz checks (they pass deliberately wrong pointers and counts) --------------
    @property
    def raw(self) -> ctypes.CDLL:
        """The ctypes handle with argtypes set (for checks that exercise the C validation directly)."""
        return self._lib

    def status_message(self, status: int) -> str:
        return bytes(self._lib.nms_status_message(status)).decode()

    def nms(
        self,
        boxes: ArrayLike,
        scores: ArrayLike,
        class_ids: Optional[ArrayLike],
        iou_threshold: float,
        score_threshold: float = 0.0,
        max_detections: Optional[int] = None,
        class_agnostic: bool = False,
    ) -> npt.NDArray[np.int64]:
        """Greedy NMS; returns kept input indices in rank order. See ``nms_cpp.nms``."""
        b, s, c = _boxes_scores_classes(boxes, scores, class_ids)
        n = b.shape[0]
        if max_detections is not None and (isinstance(max_detections, bool) or int(max_detections) < 0):
            raise NmsInputError(f"max_detections must be None or an int >= 0, but got {max_detections!r}")
        max_det = _UNLIMITED if max_detections is None else int(max_detections)
        iou = _threshold("iou_threshold", iou_threshold)
        sthr = _threshold("score_threshold", score_threshold)
        out = np.empty(max(n, 1), dtype=np.int64)
        count = ctypes.c_int64(0)
        bad = ctypes.c_int64(-1)
        status = self._lib.nms_greedy(
            _ptr(b, _f32p), _ptr(s, _f32p), None if c is None else _ptr(c, _i32p), n, iou, sthr, max_det,
            int(bool(class_agnostic)), _ptr(out, _i64p), n, ctypes.byref(count), ctypes.byref(bad),
        )
        self._raise_for(status, bad.value, b, s, None)
        return out[: count.value].copy()

    def merge_tiles(
        self,
        boxes: ArrayLike,
        scores: ArrayLike,
        class_ids: Optional[ArrayLike],
        tile_ids: ArrayLike,
        tile_offsets: ArrayLike,
        method: Method = "greedy_nmm",
        match_metric: MatchMetric = "ios",
        threshold: float = 0.5,
        class_agnostic: bool = False,
    ) -> MergeResult:
        """Tile merge; see ``nms_cpp.merge_tiles``."""
        b, s, c = _boxes_scores_classes(boxes, scores, class_ids)
        n = b.shape[0]
        t = _int32_vector("tile_ids", tile_ids, n)
        off = np.ascontiguousarray(tile_offsets, dtype=np.float32)
        if off.ndim == 1 and off.shape[0] == 0:
            off = off.reshape(0, 2)
        if off.ndim != 2 or off.shape[1] != 2:
            raise NmsInputError(f"tile_offsets must have shape (T, 2) as (x0, y0), but got {off.shape}")
        methods = {"nms": 0, "greedy_nmm": 1}
        metrics = {"iou": 0, "ios": 1}
        if method not in methods:
            raise NmsInputError(f"method must be one of {sorted(methods)}, but got {method!r}")
        if match_metric not in metrics:
            raise NmsInputError(f"match_metric must be one of {sorted(metrics)}, but got {match_metric!r}")
        thr = _threshold("threshold", threshold)
        cap = max(n, 1)
        ob = np.empty((cap, 4), dtype=np.float32)
        os_ = np.empty(cap, dtype=np.float32)
        oc = np.empty(cap, dtype=np.int32)
        ok = np.empty(cap, dtype=np.int64)
        count = ctypes.c_int64(0)
        bad = ctypes.c_int64(-1)
        status = self._lib.nms_merge_tiles(
            _ptr(b, _f32p), _ptr(s, _f32p), None if c is None else _ptr(c, _i32p), _ptr(t, _i32p), n,
            _ptr(off, _f32p), off.shape[0], methods[method], metrics[match_metric], thr,
            int(bool(class_agnostic)), _ptr(ob, _f32p), _ptr(os_, _f32p), _ptr(oc, _i32p), _ptr(ok, _i64p),
            n, ctypes.byref(count), ctypes.byref(bad),
        )
        self._raise_for(status, bad.value, b, s, (t, off))
        m = count.value
        return MergeResult(ob[:m].copy(), os_[:m].copy(), oc[:m].copy(), ok[:m].copy())

    def _raise_for(
        self,
        status: int,
        bad: int,
        boxes: np.ndarray,
        scores: np.ndarray,
        tiles: Optional[tuple[np.ndarray, np.ndarray]],
    ) -> None:
        if status == Status.OK:
            return
        detail = self.status_message(status)
        if status in (Status.NONFINITE_BOX, Status.INVERTED_BOX) and 0 <= bad < boxes.shape[0]:
            box = boxes[bad].tolist()
            frame = ""
            if tiles is not None and status == Status.NONFINITE_BOX and np.isfinite(boxes[bad]).all():
                # Finite in its tile, so the tile offset pushed it past float32 range.
                t, off = tiles
                tile = int(t[bad])
                where = off[tile].tolist() if 0 <= tile < off.shape[0] else "?"
                frame = f" (overflows float32 in frame coordinates: tile {tile} at offset {where})"
            expected = "finite coordinates" if status == Status.NONFINITE_BOX else "x1 <= x2 and y1 <= y2"
            raise NmsInputError(f"box {bad} is invalid: {detail}: {box}{frame}; expected {expected}", status, bad)
        if status == Status.NONFINITE_SCORE and 0 <= bad < scores.shape[0]:
            raise NmsInputError(
                f"box {bad} is invalid: {detail}: score {float(scores[bad])!r}; expected a finite score", status, bad
            )
        if status == Status.BAD_TILE_ID and tiles is not None and 0 <= bad < tiles[0].shape[0]:
            raise NmsInputError(
                f"box {bad} is invalid: tile id {int(tiles[0][bad])} is outside [0, {tiles[1].shape[0]})",
                status,
                bad,
            )
        if status == Status.NONFINITE_OFFSET and tiles is not None:
            raise NmsInputError(f"tile {bad} has a NaN or infinite offset {tiles[1][bad].tolist()}", status, bad)
        if status == Status.OUT_OF_MEMORY:
            raise MemoryError(f"libnms_merger: {detail}")
        if status == Status.INTERNAL:
            raise NmsError(f"libnms_merger ({self.path}): {detail}")
        raise NmsInputError(f"libnms_merger rejected the input: {detail} (status {status})", status, None)


def _threshold(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise NmsInputError(f"{name} must be a number in [0, 1], but got {value!r}") from exc
    if not 0.0 <= v <= 1.0:
        raise NmsInputError(f"{name} must be in [0, 1], but got {value!r}", Status.BAD_THRESHOLD)
    return v


def _int32_vector(name: str, values: ArrayLike, n: int) -> npt.NDArray[np.int32]:
    a = np.asarray(values)
    if a.shape != (n,):
        raise NmsInputError(f"{name} must have shape ({n},), but got {a.shape}")
    if n and not np.issubdtype(a.dtype, np.integer):
        raise NmsInputError(f"{name} must be integers, but got dtype {a.dtype}")
    if n and (a.min() < np.iinfo(np.int32).min or a.max() > np.iinfo(np.int32).max):
        raise NmsInputError(f"{name} must fit in int32, but got values in [{a.min()}, {a.max()}]")
    return np.ascontiguousarray(a, dtype=np.int32)


def _boxes_scores_classes(
    boxes: ArrayLike, scores: ArrayLike, class_ids: Optional[ArrayLike]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], Optional[npt.NDArray[np.int32]]]:
    b = np.ascontiguousarray(boxes, dtype=np.float32)
    if b.ndim == 1 and b.shape[0] == 0:
        b = b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise NmsInputError(f"boxes must have shape (N, 4) as x1, y1, x2, y2, but got {b.shape}")
    n = b.shape[0]
    if n > _MAX_BOXES:
        raise NmsInputError(f"at most {_MAX_BOXES} boxes are accepted, but got {n}", Status.BAD_COUNT)
    s = np.ascontiguousarray(scores, dtype=np.float32)
    if s.shape != (n,):
        raise NmsInputError(f"scores must have shape ({n},), but got {s.shape}")
    c = None if class_ids is None else _int32_vector("class_ids", class_ids, n)
    return b, s, c


@functools.lru_cache(maxsize=None)
def load_library(path: Optional[PathLike] = None) -> NmsLibrary:
    """Loads (once per path) a build of libnms_merger; the default is the release build next to this file."""
    return NmsLibrary(DEFAULT_LIBRARY if path is None else Path(path))


def nms(
    boxes: ArrayLike,
    scores: ArrayLike,
    class_ids: Optional[ArrayLike],
    iou_threshold: float,
    score_threshold: float = 0.0,
    max_detections: Optional[int] = None,
    class_agnostic: bool = False,
) -> npt.NDArray[np.int64]:
    """Greedy NMS on boxes [N,4] float32 xyxy, scores [N], class_ids [N] int32 or None (all one class).

    Keeps boxes with score > score_threshold; a box is suppressed when IoU > iou_threshold (strict) with an
    already-kept box of its class (any class if class_agnostic). Returns the kept input indices as int64,
    in rank order (score descending, ties by lower index), at most max_detections of them (None: no limit).
    Raises NmsInputError (naming the box index) on NaN/inf, x2 < x1, bad shapes or thresholds outside [0, 1].
    """
    return load_library().nms(
        boxes, scores, class_ids, iou_threshold, score_threshold, max_detections, class_agnostic
    )


def merge_tiles(
    boxes: ArrayLike,
    scores: ArrayLike,
    class_ids: Optional[ArrayLike],
    tile_ids: ArrayLike,
    tile_offsets: ArrayLike,
    method: Method = "greedy_nmm",
    match_metric: MatchMetric = "ios",
    threshold: float = 0.5,
    class_agnostic: bool = False,
) -> MergeResult:
    """Merges per-tile detections into frame detections, removing cross-tile duplicates.

    boxes [N,4] are tile-local xyxy; box i is in tile tile_ids[i] whose top-left corner in the frame is
    tile_offsets[tile_ids[i]] = (x0, y0) (float32 [T,2]). method "nms" keeps the best box of each matching
    group; "greedy_nmm" (SAHI GREEDYNMM, its default with match_metric "ios", threshold 0.5) fuses each
    group into its union box with the keeper's (highest) score. match_metric "iou" or "ios" (intersection
    over the smaller area), strict ">" threshold in [0, 1]. Returns a MergeResult in rank order.
    """
    return load_library().merge_tiles(
        boxes, scores, class_ids, tile_ids, tile_offsets, method, match_metric, threshold, class_agnostic
    )
