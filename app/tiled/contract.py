"""The engine contract: uint8 tiles in, ``[B, N, 6]`` detections out; an engine's I/O checked against it.

- input ``[B, H, W, 3]`` uint8: BGR tiles exactly as sliced from the frame. The graph casts, reorders the
  channels to RGB, transposes to NCHW and scales to [0, 1] (``python -m app.tiled.prepare_onnx`` adds that
  to a YOLO export); on a GPU that is one fused kernel, on the CPU engine part of its inference time. The
  host only copies bytes.
- output ``[B, N, 6]`` float: x1, y1, x2, y2, score, class in engine-input pixels, no NMS inside
  (DeepStream-Yolo's layout; the graph keeps the best class, so the host never reads per-class scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import numpy.typing as npt

from app.tiled.errors import EngineError, EngineLayoutError

PREPARE_HINT = ("prepare the ONNX with `python -m app.tiled.prepare_onnx MODEL.onnx MODEL_u8.onnx` "
                "(and build the TensorRT engine from MODEL_u8.onnx)")


@dataclass(frozen=True)
class TensorDesc:
    """An engine I/O tensor as the engine reports it (``-1`` or a name for a dynamic dim)."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str = "float32"


@dataclass(frozen=True)
class EngineSpec:
    """What the pipeline needs to know about an engine, validated from its own I/O description."""

    batch_size: int
    input_hw: tuple[int, int]
    input_name: str
    output_name: str
    num_anchors: int


class Engine(Protocol):
    """A detector over a static batch of uint8 tiles ``[B, H, W, 3]`` returning ``[B, N, 6]`` float32.

    ``tiles`` are the frame rectangles of the batch rows (padding rows are all ``-1``); real engines
    ignore them, stand-in detectors built from ground truth use them. The returned array may be the
    engine's own buffer: it is valid until the next call.

    A GPU engine may also have an ``input_buffer`` attribute: a host array of the input's shape in
    page-locked memory, which the pipeline slices into. A copy to the device from ordinary (pageable) memory
    is staged by the CUDA driver through a CPU copy of its own; from page-locked memory it is DMA.
    """

    spec: EngineSpec

    def infer(self, batch: npt.NDArray[np.uint8], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]: ...

    def close(self) -> None: ...


def _static(dim: int | str) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def resolve_spec(inputs: Sequence[TensorDesc], outputs: Sequence[TensorDesc], expected_batch: int | None = 8,
                 source: str = "engine") -> EngineSpec:
    """Check an engine's I/O against the contract; raise :class:`EngineLayoutError` saying expected vs found."""
    if len(inputs) != 1:
        raise EngineLayoutError(f"{source}: expected 1 input tensor [B,H,W,3] uint8, found {len(inputs)}: "
                                f"{[i.name for i in inputs]}")
    inp = inputs[0]
    if len(inp.shape) != 4 or _static(inp.shape[3]) != 3 or inp.dtype != "uint8":
        raise EngineLayoutError(f"{source}: expected a uint8 input [B,H,W,3] (BGR tiles; the model casts, scales "
                                f"and transposes), found {inp.dtype} '{inp.name}' {list(inp.shape)}; {PREPARE_HINT}")
    batch, h, w = (_static(d) for d in inp.shape[:3])
    if batch is None or h is None or w is None:
        raise EngineLayoutError(f"{source}: expected a static input shape, found '{inp.name}' {list(inp.shape)}; "
                                "export the model with a fixed batch and size")
    if expected_batch is not None and batch != expected_batch:
        raise EngineLayoutError(f"{source}: expected batch {expected_batch}, found batch {batch} (input "
                                f"'{inp.name}' {list(inp.shape)}); rebuild the engine with batch {expected_batch}")
    found = ", ".join(f"'{o.name}' {list(o.shape)}" for o in outputs)
    if len(outputs) != 1:
        raise EngineLayoutError(f"{source}: expected one output [B,N,6] (x1,y1,x2,y2,score,class), found {found}; "
                                f"{PREPARE_HINT}: it decodes boxes/scores/classes and [B,4+C,N] outputs in the graph")
    out = outputs[0]
    if len(out.shape) != 3 or _static(out.shape[0]) not in (batch, None) or _static(out.shape[2]) != 6:
        raise EngineLayoutError(f"{source}: expected output [B,N,6] (x1,y1,x2,y2,score,class), found {found}; "
                                f"{PREPARE_HINT}")
    return EngineSpec(batch, (h, w), inp.name, out.name, _static(out.shape[1]) or -1)


def check_output(spec: EngineSpec, out: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """The engine's output as ``[B, N, 6]`` float32 (no copy when it already is)."""
    if out.ndim != 3 or out.shape[0] != spec.batch_size or out.shape[2] != 6:
        raise EngineLayoutError(f"expected output [{spec.batch_size},N,6], found {list(out.shape)}")
    return np.asarray(out, dtype=np.float32)


def check_batch(spec: EngineSpec, batch: npt.NDArray[np.generic]) -> None:
    want = (spec.batch_size, *spec.input_hw, 3)
    if batch.shape != want or batch.dtype != np.uint8 or not batch.flags.c_contiguous:
        raise EngineError(f"batch {batch.dtype} {list(batch.shape)} does not match the engine input uint8 "
                          f"{list(want)} (C-contiguous)")
