"""The engine contract: uint8 pixels in, ``[B, N, 6]`` detections out; an engine's I/O checked against it.

- input, one of:
  - ``[B, H, W, 3]`` uint8 (tile input): BGR tiles exactly as the host sliced them from the frame;
  - ``[1, FH, FW, 3]`` uint8 (frame input): one whole BGR frame of a fixed size, and the graph crops its
    B tiles itself (``prepare_onnx --frame``); an engine is a frame-input engine when its input has batch 1
    and its output a static batch above 1. On a GPU the crops are device copies, so the host copies no tile.
  The graph casts, reorders the channels to RGB, transposes to NCHW and scales to [0, 1]
  (``python -m app.tiled.prepare_onnx`` adds that to a YOLO export); on a GPU that is one fused kernel, on
  the CPU engine part of its inference time. The host only copies bytes.
- output ``[B, N, 6]`` float: x1, y1, x2, y2, score, class in engine-input pixels, no NMS inside
  (DeepStream-Yolo's layout; the graph keeps the best class, so the host never reads per-class scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import numpy.typing as npt

from app.tiled.errors import EngineError, EngineLayoutError

#: The ONNX metadata key under which ``prepare_onnx --frame`` records a frame-input model's crops, as
#: ``x0,y0,x1,y1;...`` in output-row order, so that the app can check them against its own tiling.
FRAME_TILES_KEY = "app.tiled.frame_tiles"

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
    #: True when the input is one whole frame of ``input_hw`` and the engine crops ``batch_size`` tiles itself.
    frame_input: bool = False
    #: The crops of a frame-input engine (x0, y0, x1, y1 per output row) when the engine file records them.
    frame_tiles: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (1 if self.frame_input else self.batch_size, *self.input_hw, 3)


class Engine(Protocol):
    """A detector over a static batch of uint8 tiles ``[B, H, W, 3]`` (or one frame it crops into B tiles,
    ``spec.frame_input``) returning ``[B, N, 6]`` float32.

    ``tiles`` are the frame rectangles of the batch rows (padding rows are all ``-1``); real engines
    ignore them, stand-in detectors built from ground truth use them. The returned array may be the
    engine's own buffer: it is valid until the next call.

    A GPU engine may also have an ``input_buffer`` attribute: a host array of the input's shape in
    page-locked memory, which the pipeline slices (or copies the frame) into. A copy to the device from
    ordinary (pageable) memory is staged by the CUDA driver through a CPU copy of its own; from page-locked
    memory it is DMA.
    """

    spec: EngineSpec

    def infer(self, batch: npt.NDArray[np.uint8], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]: ...

    def close(self) -> None: ...


def _static(dim: int | str) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def resolve_spec(inputs: Sequence[TensorDesc], outputs: Sequence[TensorDesc], expected_batch: int | None = 8,
                 source: str = "engine", frame_tiles: Sequence[Sequence[int]] = ()) -> EngineSpec:
    """Check an engine's I/O against the contract; raise :class:`EngineLayoutError` saying expected vs found.

    ``frame_tiles`` are the crops a frame-input engine file records (ONNX metadata), checked against its batch.
    """
    if len(inputs) != 1:
        raise EngineLayoutError(f"{source}: expected 1 input tensor [B,H,W,3] uint8, found {len(inputs)}: "
                                f"{[i.name for i in inputs]}")
    inp = inputs[0]
    if len(inp.shape) != 4 or _static(inp.shape[3]) != 3 or inp.dtype != "uint8":
        raise EngineLayoutError(f"{source}: expected a uint8 input [B,H,W,3] (BGR tiles; the model casts, scales "
                                f"and transposes), found {inp.dtype} '{inp.name}' {list(inp.shape)}; {PREPARE_HINT}")
    in_batch, h, w = (_static(d) for d in inp.shape[:3])
    if in_batch is None or h is None or w is None:
        raise EngineLayoutError(f"{source}: expected a static input shape, found '{inp.name}' {list(inp.shape)}; "
                                "export the model with a fixed batch and size")
    found = ", ".join(f"'{o.name}' {list(o.shape)}" for o in outputs)
    if len(outputs) != 1:
        raise EngineLayoutError(f"{source}: expected one output [B,N,6] (x1,y1,x2,y2,score,class), found {found}; "
                                f"{PREPARE_HINT}: it decodes boxes/scores/classes and [B,4+C,N] outputs in the graph")
    out = outputs[0]
    out_batch = _static(out.shape[0]) if len(out.shape) == 3 else None
    frame_input = in_batch == 1 and out_batch is not None and out_batch > 1
    batch = out_batch if frame_input and out_batch is not None else in_batch
    if len(out.shape) != 3 or out_batch not in (batch, None) or _static(out.shape[2]) != 6:
        raise EngineLayoutError(f"{source}: expected output [B,N,6] (x1,y1,x2,y2,score,class), found {found}; "
                                f"{PREPARE_HINT}")
    if expected_batch is not None and batch != expected_batch:
        what = "tiles per frame" if frame_input else "batch"
        raise EngineLayoutError(f"{source}: expected batch {expected_batch}, found {what} {batch} (input "
                                f"'{inp.name}' {list(inp.shape)}, output {found}); rebuild the engine with batch "
                                f"{expected_batch}")
    if frame_tiles and (not frame_input or len(frame_tiles) != batch or any(len(t) != 4 for t in frame_tiles)):
        raise EngineLayoutError(f"{source}: records {len(frame_tiles)} frame tiles for a "
                                f"{'frame' if frame_input else 'tile'} input with batch {batch}; expected one "
                                "x0,y0,x1,y1 crop per output row of a frame-input engine; prepare the model again")
    tiles = tuple((int(x0), int(y0), int(x1), int(y1)) for x0, y0, x1, y1 in frame_tiles)
    return EngineSpec(batch, (h, w), inp.name, out.name, _static(out.shape[1]) or -1, frame_input, tiles)


def format_frame_tiles(tiles: Sequence[Sequence[int]]) -> str:
    return ";".join(",".join(str(int(v)) for v in t) for t in tiles)


def parse_frame_tiles(text: str, source: str = "engine") -> list[tuple[int, ...]]:
    """The crops recorded under :data:`FRAME_TILES_KEY`; :class:`EngineLayoutError` when they do not parse."""
    try:
        return [tuple(int(v) for v in tile.split(",")) for tile in text.split(";")] if text else []
    except ValueError:
        raise EngineLayoutError(f"{source}: metadata {FRAME_TILES_KEY} is {text[:60]!r}; expected x0,y0,x1,y1 "
                                "crops separated by ';'; prepare the model again") from None


def check_output(spec: EngineSpec, out: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """The engine's output as ``[B, N, 6]`` float32 (no copy when it already is)."""
    if out.ndim != 3 or out.shape[0] != spec.batch_size or out.shape[2] != 6:
        raise EngineLayoutError(f"expected output [{spec.batch_size},N,6], found {list(out.shape)}")
    return np.asarray(out, dtype=np.float32)


def check_batch(spec: EngineSpec, batch: npt.NDArray[np.generic]) -> None:
    want = spec.input_shape
    if batch.shape != want or batch.dtype != np.uint8 or not batch.flags.c_contiguous:
        raise EngineError(f"batch {batch.dtype} {list(batch.shape)} does not match the engine input uint8 "
                          f"{list(want)} (C-contiguous)")
