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

Arguments are checked strictly (``nms_cpp._args``): a value the C ABI cannot take exactly is a
``ValueError`` or ``TypeError`` (``NmsInputError`` / ``NmsTypeError``) whose message starts with the
argument's name, never a silently converted call. Arrays are converted to float32 / int32.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

from nms_cpp import _args
from nms_cpp._args import NmsError, NmsInputError, NmsTypeError, Status, show

__all__ = [
    "ABI_VERSION",
    "DEFAULT_LIBRARY",
    "LibraryNotFoundError",
    "MergeResult",
    "NmsError",
    "NmsInputError",
    "NmsLibrary",
    "NmsTypeError",
    "Status",
    "load_library",
    "merge_tiles",
    "nms",
]

#: The NMS_ABI_VERSION this binding speaks.
ABI_VERSION = 1
#: The release build, next to this file.
DEFAULT_LIBRARY = Path(__file__).resolve().parent / "libnms_merger.so"
MAX_BOXES = 16_777_216  # NMS_MAX_BOXES
MAX_TILES = 1_048_576  # NMS_MAX_TILES
_BUILD_HINT = "build it with `make -C nms_cpp` (or `make setup` at the repository root)"
_METHODS = {"nms": 0, "greedy_nmm": 1}
_METRICS = {"iou": 0, "ios": 1}

Method = Literal["nms", "greedy_nmm"]
MatchMetric = Literal["iou", "ios"]
ArrayLike = npt.ArrayLike
PathLike = Union[str, Path]


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


_ptr = ctypes.c_void_p
_i64 = ctypes.c_int64
_i32 = ctypes.c_int32
_f64 = ctypes.c_double


def _addr(a: np.ndarray) -> int:
    address: int = a.__array_interface__["data"][0]  # about twice as fast as a.ctypes.data_as
    return address


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
            # Pointers as c_void_p (addresses from numpy); counts int64, flags int32, thresholds double.
            lib.nms_greedy.argtypes = [_ptr, _ptr, _ptr, _i64, _f64, _f64, _i64, _i32, _ptr, _i64, _ptr, _ptr]
            lib.nms_merge_tiles.restype = ctypes.c_int32
            lib.nms_merge_tiles.argtypes = [_ptr, _ptr, _ptr, _ptr, _i64, _ptr, _i64, _i32, _i32, _f64, _i32,
                                            _ptr, _ptr, _ptr, _ptr, _i64, _ptr, _ptr]
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
        b, s, c, given = _boxes_scores_classes(boxes, scores, class_ids)
        n = b.shape[0]
        max_det = _args.optional_count("max_detections", max_detections)
        iou = _args.fraction("iou_threshold", iou_threshold)
        sthr = _args.fraction("score_threshold", score_threshold)
        agnostic = _args.flag("class_agnostic", class_agnostic)
        out = np.empty(max(n, 1), dtype=np.int64)
        count = ctypes.c_int64(0)
        bad = ctypes.c_int64(-1)
        status = self._lib.nms_greedy(
            _addr(b), _addr(s), None if c is None else _addr(c), n, iou, sthr, max_det, int(agnostic), _addr(out),
            n, ctypes.byref(count), ctypes.byref(bad),
        )
        if status != Status.OK:
            self._raise_for(status, bad.value, given, None)
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
        b, s, c, given = _boxes_scores_classes(boxes, scores, class_ids)
        n = b.shape[0]
        t = _args.int32_vector("tile_ids", tile_ids, n)
        off, off_given = _args.float32_rows("tile_offsets", tile_offsets, 2, MAX_TILES)
        m_code = _args.choice("method", method, _METHODS)
        metric_code = _args.choice("match_metric", match_metric, _METRICS)
        thr = _args.fraction("threshold", threshold)
        agnostic = _args.flag("class_agnostic", class_agnostic)
        cap = max(n, 1)
        ob = np.empty((cap, 4), dtype=np.float32)
        os_ = np.empty(cap, dtype=np.float32)
        oc = np.empty(cap, dtype=np.int32)
        ok = np.empty(cap, dtype=np.int64)
        count = ctypes.c_int64(0)
        bad = ctypes.c_int64(-1)
        status = self._lib.nms_merge_tiles(
            _addr(b), _addr(s), None if c is None else _addr(c), _addr(t), n, _addr(off), off.shape[0], m_code,
            metric_code, thr, int(agnostic), _addr(ob), _addr(os_), _addr(oc), _addr(ok), n, ctypes.byref(count),
            ctypes.byref(bad),
        )
        if status != Status.OK:
            self._raise_for(status, bad.value, given, (b, t, off, off_given))
        m = count.value
        return MergeResult(ob[:m].copy(), os_[:m].copy(), oc[:m].copy(), ok[:m].copy())

    def _raise_for(
        self,
        status: int,
        bad: int,
        given: tuple[np.ndarray, np.ndarray],
        tiles: Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    ) -> None:
        """The library rejected the call: raise the error naming the argument (and the box or tile)."""
        detail = self.status_message(status)
        boxes, scores = given
        if status == Status.NONFINITE_BOX and 0 <= bad < boxes.shape[0]:
            row = boxes[bad].tolist()
            if tiles is not None and np.isfinite(tiles[0][bad]).all():
                # Finite in its tile (as float32), so the tile offset pushed it past float32 range.
                tile = int(tiles[1][bad])
                where = tiles[3][tile].tolist() if 0 <= tile < tiles[3].shape[0] else "?"
                raise NmsInputError(
                    f"boxes[{bad}] = {show(row)} plus tile_offsets[{tile}] = {show(where)} overflows float32 "
                    f"(box {bad} in frame coordinates); expected finite frame coordinates",
                    status, bad, "boxes")
            beyond = " in float32" if np.isfinite(np.asarray(row, dtype=np.float64)).all() else ""
            raise NmsInputError(f"boxes[{bad}] = {show(row)} is not finite{beyond} (box {bad}); expected finite "
                                "float32 coordinates", status, bad, "boxes")
        if status == Status.INVERTED_BOX and 0 <= bad < boxes.shape[0]:
            raise NmsInputError(f"boxes[{bad}] = {show(boxes[bad].tolist())} has x2 < x1 or y2 < y1 (box {bad}); "
                                "expected x1 <= x2 and y1 <= y2", status, bad, "boxes")
        if status == Status.NONFINITE_SCORE and 0 <= bad < scores.shape[0]:
            value = scores[bad].item()
            beyond = " in float32" if np.isfinite(value) else ""
            raise NmsInputError(f"scores[{bad}] = {value!r} is not finite{beyond} (box {bad}); expected a finite "
                                "float32 score", status, bad, "scores")
        if status == Status.BAD_TILE_ID and tiles is not None and 0 <= bad < tiles[1].shape[0]:
            raise NmsInputError(
                f"tile_ids[{bad}] = {int(tiles[1][bad])} is outside [0, {tiles[2].shape[0]}) (box {bad}); expected "
                f"the index of a row of tile_offsets", status, bad, "tile_ids")
        if status == Status.NONFINITE_OFFSET and tiles is not None and 0 <= bad < tiles[3].shape[0]:
            raise NmsInputError(f"tile_offsets[{bad}] = {show(tiles[3][bad].tolist())} is not finite (tile {bad}); "
                                "expected finite float32 offsets", status, bad, "tile_offsets")
        if status == Status.OUT_OF_MEMORY:
            raise MemoryError(f"libnms_merger: {detail}")
        raise NmsError(f"libnms_merger ({self.path}) rejected input the binding had checked: {detail} "
                       f"(status {status}, index {bad}); this is a bug in nms_cpp")


def _boxes_scores_classes(
    boxes: ArrayLike, scores: ArrayLike, class_ids: Optional[ArrayLike]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], Optional[npt.NDArray[np.int32]],
           tuple[np.ndarray, np.ndarray]]:
    """boxes [N, 4] and scores [N] as float32, class_ids [N] as int32 (or None), plus boxes and scores as
    given (the error messages show the caller's values, not their float32 rounding)."""
    b, b_given = _args.float32_rows("boxes", boxes, 4, MAX_BOXES)
    n = b.shape[0]
    s, s_given = _args.float32_vector("scores", scores, n)
    c = None if class_ids is None else _args.int32_vector("class_ids", class_ids, n)
    return b, s, c, (b_given, s_given)


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
    Arrays are converted to float32 / int32; any argument the library cannot take exactly (NaN/inf or a
    value beyond float32, x2 < x1, a bad shape or dtype, a threshold outside [0, 1], a non-integer or
    negative max_detections, a non-bool flag) raises NmsInputError (a ValueError) or NmsTypeError (a
    TypeError) whose message starts with the argument's name (and names the box index where one is to blame).
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
    Bad arguments raise as ``nms`` does; a tile id outside [0, T) names the box.
    """
    return load_library().merge_tiles(
        boxes, scores, class_ids, tile_ids, tile_offsets, method, match_metric, threshold, class_agnostic
    )
