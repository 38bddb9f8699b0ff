"""Prepare a YOLO ONNX export for the tiled app: uint8 BGR tiles in, ``[B, N, 6]`` detections out.

    python -m app.tiled.prepare_onnx model.onnx model_u8.onnx
    python -m app.tiled.prepare_onnx model.onnx model_1080p.onnx --frame 1920x1080 [--overlap 0.2]

An ONNX graph edit, done once where the model is exported (it needs the ``onnx`` package; the app's
runtime never imports it). The TensorRT engine is then built from the prepared ONNX, so the engine, like
the CPU engine, takes the bytes the app slices from the frame.

- Input: the float ``[B, 3, H, W]`` RGB [0, 1] input becomes ``tiles``, uint8 ``[B, H, W, 3]`` BGR, followed
  by Cast (uint8 -> float32), Transpose (NHWC -> NCHW), Gather (channels 2, 1, 0: BGR -> RGB) and Mul
  (1/255), in that order, which is the order and float32 arithmetic of the host conversion it replaces
  (the CPU engine's results are bit-identical). TensorRT requires a uint8 input to be consumed by a Cast,
  hence Cast first.
- Output: one ``[B, N, 6]`` float32 ``detections`` tensor (x1, y1, x2, y2, score, class), decoded in the
  graph from any of:
  ``[B, N, 6]`` (DeepStream-Yolo since late 2024: kept);
  ``boxes [B, N, 4]`` xc, yc, w, h + ``scores [B, N, 1]`` + ``classes [B, N, 1]`` (older DeepStream-Yolo);
  ``[B, 4 + C, N]`` xc, yc, w, h + per-class scores (Ultralytics): best class by ReduceMax/ArgMax, so the
  host never reads the ``[B, C, N]`` class scores.
The batch and size must be static (export with a fixed batch, e.g. 8).

With ``--frame WxH`` the model takes one whole frame instead: ``frame``, uint8 ``[1, H, W, 3]`` BGR, cast to
float32 and cut by Slice nodes into the tiles the app would slice (the app's geometry: the model's square
input as the tile, ``--overlap``, border tiles shifted inside the frame), concatenated into the batch that
the conversion above then takes. On a GPU the crops are device-to-device copies, so the host's whole input
work is the frame itself; on the CPU engine they are part of inference time. The tiles must fill the batch
exactly (1920x1080 at 640 and 0.2 makes 8) and the frame must be at least one tile in each direction. The
crops are recorded in the model's metadata (``app.tiled.frame_tiles``) for the app to check.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from app.tiled.contract import FRAME_TILES_KEY, format_frame_tiles
from app.tiled.errors import EngineError, EngineLayoutError, TiledError
from app.tiled.geometry import slice_boxes

PREFIX = "app_tiled_prepare/"
INPUT_NAME = "tiles"
FRAME_INPUT_NAME = "frame"
OUTPUT_NAME = "detections"


class _Graph:
    """Appends nodes and constants with unique names to an ONNX graph."""

    def __init__(self, model: Any) -> None:
        import onnx

        self.onnx = onnx
        self.model = model
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.prologue: list[Any] = []
        self.epilogue: list[Any] = []
        self._n = 0

    def name(self, what: str) -> str:
        self._n += 1
        return f"{PREFIX}{what}_{self._n}"

    def const(self, what: str, value: Any) -> str:
        name = self.name(what)
        self.graph.initializer.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], out: str | None = None, first: bool = False, **attrs: Any) -> str:
        out = out or self.name(op.lower())
        (self.prologue if first else self.epilogue).append(
            self.onnx.helper.make_node(op, inputs, [out], name=self.name(op), **attrs))
        return out

    def slice(self, x: str, start: int, end: int, axis: int) -> str:
        return self.node("Slice", [x, self.const("start", [start]), self.const("end", [end]),
                                   self.const("axis", [axis])])

    def to_float(self, x: str, elem_type: int) -> str:
        return x if elem_type == self.onnx.TensorProto.FLOAT else self.node("Cast", [x], to=self.onnx.TensorProto.FLOAT)

    def corners(self, xywh: str, axis: int) -> str:
        """xc, yc, w, h along ``axis`` -> x1, y1, x2, y2."""
        centre, size = self.slice(xywh, 0, 2, axis), self.slice(xywh, 2, 4, axis)
        half = self.node("Mul", [size, self.const("half", np.float32(0.5))])
        return self.node("Concat", [self.node("Sub", [centre, half]), self.node("Add", [centre, half])], axis=axis)

    def reduce_max(self, x: str, axis: int) -> str:
        if self.opset >= 18:  # axes became an input in opset 18
            return self.node("ReduceMax", [x, self.const("axes", [axis])], keepdims=1)
        return self.node("ReduceMax", [x], axes=[axis], keepdims=1)


def _dims(value_info: Any) -> list[int | str]:
    return [d.dim_param or d.dim_value if d.dim_param or d.dim_value else "?"
            for d in value_info.type.tensor_type.shape.dim]


def _describe(value_info: Any) -> str:
    import onnx

    elem = onnx.helper.tensor_dtype_to_np_dtype(value_info.type.tensor_type.elem_type).name \
        if value_info.type.tensor_type.elem_type else "unknown"
    return f"{elem} '{value_info.name}' {_dims(value_info)}"


def _frame_crops(g: _Graph, frame: tuple[int, int], overlap: float, batch: int, h: int, w: int,
                 source: str) -> str:
    """Nodes cutting the float frame into the batch's tiles; returns the batch tensor's name."""
    fw, fh = frame
    if h != w:
        raise EngineLayoutError(f"{source}: a frame input needs a square model input (the tile), found {h}x{w}")
    if fw < w or fh < h:
        raise EngineLayoutError(f"{source}: frame {fw}x{fh} is smaller than the tile {w}x{h}; expected a frame of "
                                "at least one tile in each direction (smaller frames: use the tile input)")
    tiles = slice_boxes(fw, fh, w, overlap)
    if len(tiles) != batch:
        raise EngineLayoutError(f"{source}: frame {fw}x{fh} at tile {w} and overlap {overlap} makes {len(tiles)} "
                                f"tiles, the model's batch is {batch}; expected them equal: export the model with "
                                f"batch {len(tiles)}")
    frame_f = g.node("Cast", [FRAME_INPUT_NAME], first=True, to=g.onnx.TensorProto.FLOAT)
    axes = g.const("hw_axes", np.array([1, 2], np.int64))
    crops = [g.node("Slice", [frame_f, g.const("start", np.array([y0, x0], np.int64)),
                              g.const("end", np.array([y1, x1], np.int64)), axes], first=True)
             for x0, y0, x1, y1 in tiles.tolist()]
    g.onnx.helper.set_model_props(g.model, {**{p.key: p.value for p in g.model.metadata_props},
                                            FRAME_TILES_KEY: format_frame_tiles(tiles.tolist())})
    return g.node("Concat", crops, first=True, axis=0)


def _add_input_prologue(g: _Graph, source: str, frame: tuple[int, int] | None = None,
                        overlap: float = 0.2) -> None:
    onnx = g.onnx
    initialisers = {i.name for i in g.graph.initializer}
    inputs = [i for i in g.graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        raise EngineLayoutError(f"{source}: expected one input [B,3,H,W], found {[_describe(i) for i in inputs]}")
    inp = inputs[0]
    elem = inp.type.tensor_type.elem_type
    dims = _dims(inp)
    if elem == onnx.TensorProto.UINT8 and len(dims) == 4 and dims[3] == 3:
        raise EngineLayoutError(f"{source}: already takes uint8 tiles ({_describe(inp)}); nothing to prepare")
    if elem not in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16) or len(dims) != 4 or dims[1] != 3:
        raise EngineLayoutError(f"{source}: expected a float input [B,3,H,W] (RGB, scaled to [0, 1]), "
                                f"found {_describe(inp)}")
    if not all(isinstance(d, int) and d > 0 for d in dims):
        raise EngineLayoutError(f"{source}: expected a static input shape, found {_describe(inp)}; export the "
                                "model with a fixed batch and size (e.g. batch 8 at 640)")
    batch, _, h, w = (int(d) for d in dims)
    if frame is None:
        x = g.node("Cast", [INPUT_NAME], first=True, to=onnx.TensorProto.FLOAT)
        new_input = onnx.helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.UINT8, [batch, h, w, 3])
    else:
        x = _frame_crops(g, frame, overlap, batch, h, w, source)
        new_input = onnx.helper.make_tensor_value_info(FRAME_INPUT_NAME, onnx.TensorProto.UINT8,
                                                       [1, frame[1], frame[0], 3])
    x = g.node("Transpose", [x], first=True, perm=[0, 3, 1, 2])
    x = g.node("Gather", [x, g.const("bgr_to_rgb", np.array([2, 1, 0], np.int64))], first=True, axis=1)
    scale = g.const("scale", np.float32(1.0 / 255.0))
    if elem == onnx.TensorProto.FLOAT:
        g.node("Mul", [x, scale], out=inp.name, first=True)
    else:
        g.node("Cast", [g.node("Mul", [x, scale], first=True)], out=inp.name, first=True, to=elem)
    position = list(g.graph.input).index(inp)
    g.graph.input.remove(inp)
    g.graph.input.insert(position, new_input)


def _add_output_epilogue(g: _Graph, source: str) -> None:
    onnx = g.onnx
    outputs = list(g.graph.output)
    shapes = [_dims(o) for o in outputs]
    found = ", ".join(_describe(o) for o in outputs)
    if len(outputs) == 1 and len(shapes[0]) == 3 and shapes[0][2] == 6:
        out = outputs[0]
        if out.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            g.node("Identity", [out.name], out=OUTPUT_NAME)
        else:
            g.node("Cast", [out.name], out=OUTPUT_NAME, to=onnx.TensorProto.FLOAT)
        batch, anchors = shapes[0][0], shapes[0][1]
    elif (len(outputs) == 1 and len(shapes[0]) == 3 and isinstance(shapes[0][1], int) and shapes[0][1] > 4
          and isinstance(shapes[0][2], int) and shapes[0][2] > shapes[0][1]):
        raw = g.to_float(outputs[0].name, outputs[0].type.tensor_type.elem_type)
        classes = g.slice(raw, 4, int(shapes[0][1]), 1)
        score = g.reduce_max(classes, 1)
        label = g.node("Cast", [g.node("ArgMax", [classes], axis=1, keepdims=1)], to=onnx.TensorProto.FLOAT)
        decoded = g.node("Concat", [g.corners(g.slice(raw, 0, 4, 1), 1), score, label], axis=1)
        g.node("Transpose", [decoded], out=OUTPUT_NAME, perm=[0, 2, 1])
        batch, anchors = shapes[0][0], shapes[0][2]
    else:
        roles: dict[str, Any] = {}
        for out, dims in zip(outputs, shapes):
            for role, width in (("box", 4), ("score", 1), ("class", 1)):
                if role in out.name.lower() and len(dims) == 3 and dims[2] == width:
                    roles[role] = out
        if len(outputs) != 3 or len(roles) != 3:
            raise EngineLayoutError(f"{source}: expected one output [B,N,6], boxes [B,N,4] + scores [B,N,1] + "
                                    f"classes [B,N,1], or one [B,4+C,N] output; found {found}")
        boxes, score, label = (g.to_float(roles[r].name, roles[r].type.tensor_type.elem_type)
                               for r in ("box", "score", "class"))
        g.node("Concat", [g.corners(boxes, 2), score, label], out=OUTPUT_NAME, axis=2)
        batch, anchors = _dims(roles["box"])[:2]
    del g.graph.output[:]
    g.graph.output.append(onnx.helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT,
                                                             [batch, anchors, 6]))


def prepare_model(model: Any, source: str = "model", frame: tuple[int, int] | None = None,
                  overlap: float = 0.2) -> Any:
    """Edit ``model`` (an ``onnx.ModelProto``) in place to the app's contract and return it; with ``frame``
    (width, height) it takes that whole frame and crops the tiles itself."""
    g = _Graph(model)
    _add_input_prologue(g, source, frame, overlap)
    _add_output_epilogue(g, source)
    nodes = g.prologue + list(g.graph.node) + g.epilogue
    del g.graph.node[:]
    g.graph.node.extend(nodes)
    try:
        g.onnx.checker.check_model(model)
    except g.onnx.checker.ValidationError as exc:
        raise EngineLayoutError(f"{source}: the prepared graph is not valid ONNX: {str(exc).splitlines()[0]}") from None
    return model


def prepare_file(src: Path, dst: Path, frame: tuple[int, int] | None = None, overlap: float = 0.2) -> Path:
    """Read ``src``, prepare it, write ``dst`` atomically (nothing is written on failure)."""
    try:
        import onnx
    except ImportError:
        raise EngineError("preparing a model needs the onnx package (pip install onnx), where the model is "
                          "exported; the app itself does not") from None
    try:
        model = onnx.load(str(src))
    except FileNotFoundError:
        raise EngineError(f"model '{src}' not found; expected an ONNX export of the detector") from None
    except Exception as exc:  # onnx raises DecodeError and friends for a file that is not a model
        raise EngineError(f"model '{src}' is not a valid ONNX model ({type(exc).__name__})") from None
    prepare_model(model, source=f"model '{src}'", frame=frame, overlap=overlap)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=dst.parent)
    os.close(fd)
    try:
        onnx.save(model, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dst


def _frame_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or int(width) <= 0 or int(height) <= 0:
        raise argparse.ArgumentTypeError(f"frame size {text!r}: expected WIDTHxHEIGHT in pixels, e.g. 1920x1080")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.tiled.prepare_onnx", description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the YOLO ONNX export (float [B,3,H,W] input)")
    parser.add_argument("target", type=Path, help="the prepared model to write (uint8 [B,H,W,3] in, [B,N,6] out)")
    parser.add_argument("--frame", type=_frame_size, metavar="WxH",
                        help="take one whole WxH frame ([1,H,W,3] uint8) and crop the tiles in the graph, so that "
                             "the host copies no tile (the batch must equal the frame's tile count)")
    parser.add_argument("--overlap", type=float, default=0.2,
                        help="tile overlap for --frame, as the app's --overlap (default 0.2)")
    args = parser.parse_args(argv)
    try:
        prepare_file(args.source, args.target, frame=args.frame, overlap=args.overlap)
    except TiledError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
