"""The tiled checks' generated assets: the tiny detector (prepared ONNX, its float export, its torch
weights, a frame-input preparation), its labels, and known-bad twins."""

from __future__ import annotations

from pathlib import Path

from conformance import work_dir
from conformance.builders.tiny_detector import float_onnx_of

__all__ = ["default_onnx", "ensure_detector", "ensure_frame_detector", "ensure_other_seed_detector", "float_onnx_of",
           "frame_onnx_of", "tiled_dir"]


def tiled_dir() -> Path:
    return work_dir() / "tiled"


def default_onnx() -> Path:
    """The tiny detector `make tiled-assets` builds (batch 8, uint8 ``[B, H, W, 3]`` in, ``[B, N, 6]`` out)."""
    return tiled_dir() / "tiny_yolo_b8.onnx"


def _complete(onnx: Path) -> bool:
    return all(p.is_file() for p in (onnx, float_onnx_of(onnx), onnx.with_suffix(".pt")))


def ensure_detector(onnx: Path | None = None) -> Path:
    """Build the tiny detector and its labels (`make tiled-assets`'s work) when missing or from an older
    layout (a float model without its prepared twin); needs torch."""
    onnx = onnx or default_onnx()
    if _complete(onnx):
        return onnx
    if onnx != default_onnx():
        raise FileNotFoundError(f"{onnx} does not exist")
    from conformance.builders.tiny_detector import export_onnx, write_labels

    export_onnx(onnx)
    write_labels(onnx.parent / "labels.txt")
    return onnx


def ensure_other_seed_detector() -> Path:
    """The known-bad twin of the detector: the same network from another seed, untrained (parity self-proof)."""
    path = tiled_dir() / "bad" / "tiny_yolo_b8_other_seed.onnx"
    if not _complete(path):
        from conformance.builders.tiny_detector import export_onnx

        export_onnx(path, seed=1, train_steps=0)
    return path


def frame_onnx_of(prepared: Path, size: tuple[int, int], overlap: float = 0.2) -> Path:
    """Where the frame-input preparation of a model is kept: ``NAME_frameWxH.onnx`` beside it (with the
    overlap in the name when it is not the app's default)."""
    suffix = "" if overlap == 0.2 else f"_overlap{overlap:g}"
    return prepared.with_name(f"{prepared.stem}_frame{size[0]}x{size[1]}{suffix}.onnx")


def ensure_frame_detector(onnx: Path, size: tuple[int, int], overlap: float = 0.2, out: Path | None = None) -> Path:
    """``onnx``'s float export prepared for whole ``size`` frames (``prepare_onnx --frame``), made if missing."""
    from app.tiled.prepare_onnx import prepare_file

    out = out or frame_onnx_of(onnx, size, overlap)
    source = float_onnx_of(onnx)
    if not out.is_file() or out.stat().st_mtime < source.stat().st_mtime:
        prepare_file(source, out, frame=size, overlap=overlap)
    return out
