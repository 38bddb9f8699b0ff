"""The tiled checks' generated assets: the tiny ONNX detector, its labels, and a known-bad twin."""

from __future__ import annotations

from pathlib import Path

from conformance import work_dir


def tiled_dir() -> Path:
    return work_dir() / "tiled"


def default_onnx() -> Path:
    """The tiny detector `make tiled-assets` builds (batch 8, `[B, N, 6]`)."""
    return tiled_dir() / "tiny_yolo_b8.onnx"


def ensure_detector(onnx: Path | None = None) -> Path:
    """Build the tiny ONNX detector and its labels (`make tiled-assets`'s work) when missing; needs torch."""
    onnx = onnx or default_onnx()
    if onnx.is_file():
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
    if not path.is_file():
        from conformance.builders.tiny_detector import export_onnx

        export_onnx(path, seed=1, train_steps=0)
    return path
