"""Engines behind one small interface, and the output-layout logic they share.

Supported output layouts (DeepStream-Yolo, REFERENCE.md):
- ``b_n_6``: one tensor ``[B, N, 6]`` = x1, y1, x2, y2, score, class (current exports);
- ``boxes_scores_classes``: ``boxes [B, N, 4]`` as xc, yc, w, h, ``scores [B, N, 1]``,
  ``classes [B, N, 1]`` (older exports).
Every engine returns ``[B, N, 6]`` float32 in engine-input pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol, Sequence

import numpy as np
import numpy.typing as npt

from app.tiled.errors import EngineError, EngineLayoutError

LAYOUT_B_N_6 = "b_n_6"
LAYOUT_SPLIT = "boxes_scores_classes"


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
    input_dtype: str
    layout: str
    #: output tensor names: ``(output,)`` for b_n_6, ``(boxes, scores, classes)`` for the split layout
    output_names: tuple[str, ...]
    num_anchors: int


class Engine(Protocol):
    """A detector over a static batch of tiles.

    ``tiles`` are the frame rectangles of the batch rows (padding rows are all ``-1``); real engines
    ignore them, stand-in detectors built from ground truth use them.
    """

    spec: EngineSpec

    def infer(self, batch: npt.NDArray[np.floating], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]: ...

    def close(self) -> None: ...


def _static(dim: int | str) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def resolve_spec(inputs: Sequence[TensorDesc], outputs: Sequence[TensorDesc], expected_batch: int | None = 8,
                 source: str = "engine") -> EngineSpec:
    """Check an engine's I/O against the app's contract; raise :class:`EngineLayoutError` saying expected vs found."""
    if len(inputs) != 1:
        raise EngineLayoutError(f"{source}: expected 1 input tensor [B,3,H,W], found {len(inputs)}: "
                                f"{[i.name for i in inputs]}")
    inp = inputs[0]
    if len(inp.shape) != 4 or _static(inp.shape[1]) != 3:
        raise EngineLayoutError(f"{source}: expected input [B,3,H,W] (NCHW RGB), found '{inp.name}' {list(inp.shape)}")
    batch, h, w = (_static(d) for d in (inp.shape[0], inp.shape[2], inp.shape[3]))
    if batch is None or h is None or w is None:
        raise EngineLayoutError(f"{source}: expected a static input shape, found '{inp.name}' {list(inp.shape)}; "
                                "export the engine with a fixed batch and size")
    if expected_batch is not None and batch != expected_batch:
        raise EngineLayoutError(f"{source}: expected batch {expected_batch}, found batch {batch} "
                                f"(input '{inp.name}' {list(inp.shape)}); rebuild the engine with batch {expected_batch}")
    if inp.dtype not in ("float32", "float16"):
        raise EngineLayoutError(f"{source}: expected a float32 or float16 input, found {inp.dtype}")
    for out in outputs:
        if len(out.shape) != 3 or _static(out.shape[0]) not in (batch, None):
            raise EngineLayoutError(f"{source}: expected outputs [B={batch},N,K], found '{out.name}' {list(out.shape)}")
    if len(outputs) == 1:
        out = outputs[0]
        if _static(out.shape[2]) != 6:
            raise EngineLayoutError(f"{source}: expected output [B,N,6] (x1,y1,x2,y2,score,class), "
                                    f"found '{out.name}' {list(out.shape)}")
        return EngineSpec(batch, (h, w), inp.name, inp.dtype, LAYOUT_B_N_6, (out.name,),
                          _static(out.shape[1]) or -1)
    if len(outputs) == 3:
        by_role: dict[str, TensorDesc] = {}
        for out in outputs:
            for role in ("box", "score", "class"):
                if role in out.name.lower():
                    by_role[role] = out
        want = {"box": 4, "score": 1, "class": 1}
        if len(by_role) == 3 and all(_static(by_role[r].shape[2]) == k for r, k in want.items()):
            n = _static(by_role["box"].shape[1]) or -1
            return EngineSpec(batch, (h, w), inp.name, inp.dtype, LAYOUT_SPLIT,
                              (by_role["box"].name, by_role["score"].name, by_role["class"].name), n)
    found = ", ".join(f"'{o.name}' {list(o.shape)}" for o in outputs)
    raise EngineLayoutError(f"{source}: expected one output [B,N,6] or boxes [B,N,4] + scores [B,N,1] + "
                            f"classes [B,N,1], found {found}")


def to_b_n_6(spec: EngineSpec, outputs: Mapping[str, npt.NDArray[np.floating]]) -> npt.NDArray[np.float32]:
    """Convert raw engine outputs of either layout to ``[B, N, 6]`` float32."""
    if spec.layout == LAYOUT_B_N_6:
        out = np.asarray(outputs[spec.output_names[0]], dtype=np.float32)
        if out.ndim != 3 or out.shape[0] != spec.batch_size or out.shape[2] != 6:
            raise EngineLayoutError(f"expected output [{spec.batch_size},N,6], found {list(out.shape)}")
        return out
    boxes, scores, classes = (np.asarray(outputs[n], dtype=np.float32) for n in spec.output_names)
    if boxes.shape[:2] != scores.shape[:2] or boxes.shape[:2] != classes.shape[:2] or boxes.shape[0] != spec.batch_size:
        raise EngineLayoutError(f"expected boxes/scores/classes [{spec.batch_size},N,*] with the same N, found "
                                f"{list(boxes.shape)}, {list(scores.shape)}, {list(classes.shape)}")
    result = np.empty((*boxes.shape[:2], 6), dtype=np.float32)
    half_w, half_h = boxes[..., 2] / 2, boxes[..., 3] / 2
    result[..., 0] = boxes[..., 0] - half_w
    result[..., 1] = boxes[..., 1] - half_h
    result[..., 2] = boxes[..., 0] + half_w
    result[..., 3] = boxes[..., 1] + half_h
    result[..., 4] = scores[..., 0]
    result[..., 5] = classes[..., 0]
    return result


class OpenCVEngine:
    """CPU engine: an ONNX model run by OpenCV DNN (keeps onnxruntime, which crashes on Orin, out; REFERENCE.md)."""

    def __init__(self, path: Path, expected_batch: int | None = 8, threads: int | None = None) -> None:
        import cv2

        from app.tiled.onnx_meta import read_onnx_io

        path = Path(path)
        if not path.is_file():
            raise EngineError(f"engine file '{path}' not found; expected an ONNX model (build one with "
                              "`make tiled-assets`) or a TensorRT .engine on the device")
        io = read_onnx_io(path)
        self.spec = resolve_spec([TensorDesc(t.name, t.shape, t.dtype) for t in io.inputs],
                                 [TensorDesc(t.name, t.shape, t.dtype) for t in io.outputs],
                                 expected_batch, source=f"engine '{path}'")
        try:
            self._net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise EngineError(f"OpenCV DNN cannot load engine '{path}': {str(exc).strip().splitlines()[-1]}") from None
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        if threads is not None:
            cv2.setNumThreads(threads)

    def infer(self, batch: npt.NDArray[np.floating], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        self._net.setInput(np.ascontiguousarray(batch, dtype=np.float32), self.spec.input_name)
        raw = self._net.forward(list(self.spec.output_names))
        return to_b_n_6(self.spec, {name: np.asarray(out) for name, out in zip(self.spec.output_names, raw)})

    def close(self) -> None:
        """Nothing to release: OpenCV owns the network's memory."""


def load_engine(path: Path, expected_batch: int | None = 8) -> Engine:
    """Pick the engine by file type: ``.engine``/``.plan`` -> TensorRT, anything else -> OpenCV DNN (ONNX)."""
    path = Path(path)
    if path.suffix in (".engine", ".plan", ".trt"):
        from app.tiled.tensorrt_engine import TensorRTEngine

        return TensorRTEngine(path, expected_batch=expected_batch)
    return OpenCVEngine(path, expected_batch=expected_batch)
