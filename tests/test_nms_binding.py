"""Unit tests of the ctypes binding nms_cpp: loading errors, input shapes, error mapping, MergeResult."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nms_cpp
from conformance.nms.library import DEFAULT_LIB, build_default_library


@pytest.fixture(scope="module")
def lib() -> nms_cpp.NmsLibrary:
    if not DEFAULT_LIB.exists():
        build_default_library()
    return nms_cpp.load_library()


def test_a_library_for_another_architecture_says_how_to_rebuild(tmp_path: Path) -> None:
    fake = tmp_path / "libnms_merger.so"
    fake.write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\xb7\x00" + b"\x00" * 100)  # aarch64 header
    with pytest.raises(nms_cpp.LibraryNotFoundError, match=r"cannot load NMS library .*make -C nms_cpp"):
        nms_cpp.NmsLibrary(fake)


def test_a_missing_library_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(nms_cpp.LibraryNotFoundError, match=r"not found at .*make -C nms_cpp"):
        nms_cpp.NmsLibrary(tmp_path / "absent.so")


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        (dict(boxes=np.zeros((2, 5))), ValueError, r"^boxes must have shape \(N, 4\), but got \(2, 5\)"),
        (dict(scores=np.zeros(3)), ValueError, r"^scores must have shape \(2,\), one per box, but got \(3,\)"),
        (dict(class_ids=np.array([0.5, 1.0])), TypeError, r"^class_ids must be integers, but got dtype float64"),
        (dict(class_ids=np.array([0, 2**40])), ValueError, r"^class_ids\[1\] = 1099511627776 does not fit in int32"),
        (dict(iou_threshold=1.5), ValueError, r"^iou_threshold must be a finite number in \[0, 1\], but got 1.5"),
        (dict(iou_threshold=float("nan")), ValueError, r"^iou_threshold must be a finite number in \[0, 1\]"),
        (dict(max_detections=-1), ValueError, r"^max_detections must be in \[0, 9223372036854775807\], but got -1"),
        (dict(boxes=np.array([[0, 0, 1, 1], [5, 0, 4, 1]])), ValueError,
         r"^boxes\[1\] = \[5, 0, 4, 1\] has x2 < x1 or y2 < y1 \(box 1\)"),
        (dict(scores=np.array([0.5, np.inf])), ValueError, r"^scores\[1\] = inf is not finite \(box 1\)"),
        (dict(scores=np.array([0.5, 1e300])), ValueError, r"^scores\[1\] = 1e\+300 is not finite in float32 \(box 1\)"),
        (dict(boxes=[[0, 0, 1, 1], [0, 0, "2", 2]]), TypeError, r"^boxes must be an \[N, 4\] array of real numbers"),
        (dict(boxes=np.ones((2, 4), bool)), TypeError, r"^boxes must be .* but got dtype bool"),
    ],
    ids=["boxes-shape", "scores-shape", "class-float", "class-overflow", "threshold-above-one", "threshold-nan",
         "negative-max-detections", "inverted-box", "infinite-score", "score-beyond-float32", "string-in-boxes",
         "bool-boxes"],
)
def test_bad_nms_input_raises_a_clear_error(lib: nms_cpp.NmsLibrary, kwargs: dict, error: type, message: str) -> None:
    args: dict = dict(boxes=np.array([[0, 0, 1, 1], [0, 0, 2, 2]]), scores=np.array([0.9, 0.8]), class_ids=None,
                      iou_threshold=0.5)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        lib.nms(**args)


def test_merge_names_the_tile_whose_offset_is_not_finite(lib: nms_cpp.NmsLibrary) -> None:
    with pytest.raises(nms_cpp.NmsInputError, match=r"^tile_offsets\[1\] = \[nan, 0.0\] is not finite \(tile 1\)") as err:
        lib.merge_tiles(np.array([[0, 0, 1, 1]]), np.array([0.5]), None, np.array([0]),
                        np.array([[0, 0], [np.nan, 0]]), "nms", "iou", 0.5)
    assert err.value.index == 1 and err.value.argument == "tile_offsets", (
        f"expected the bad tile index 1 and the argument tile_offsets on the exception, got {err.value.index}, "
        f"{err.value.argument}")


def test_merge_result_is_validated_on_construction() -> None:
    with pytest.raises(ValueError, match=r"boxes must be float32 of shape \(1, 4\)"):
        nms_cpp.MergeResult(np.zeros((2, 4), np.float32), np.zeros(1, np.float32), np.zeros(1, np.int32),
                            np.zeros(1, np.int64))


def test_greedy_nmm_fuses_an_object_cut_at_a_tile_seam(lib: nms_cpp.NmsLibrary) -> None:
    # One object at frame x 560..700 across the seam of two SAHI tiles (x0 = 0 and 512): tile 0 sees its
    # left part cut at x = 640, tile 1 all of it. IoS = 1 > 0.5, so they fuse into the union box.
    boxes = np.array([[560, 100, 640, 140], [48, 100, 188, 140]], np.float32)  # tile-local
    merged = lib.merge_tiles(boxes, np.array([0.7, 0.9], np.float32), None, np.array([0, 1]),
                             np.array([[0, 0], [512, 0]], np.float32), "greedy_nmm", "ios", 0.5)
    assert merged.indices.tolist() == [1] and merged.boxes.tolist() == [[560, 100, 700, 140]], (
        f"expected one fused box [560, 100, 700, 140] kept by input 1 (score 0.9), got {merged}"
    )
