"""Read an ONNX model's input/output names and shapes without the ``onnx`` package.

OpenCV DNN does not report input shapes, and the runtime image should not carry ``onnx`` and
protobuf just for that, so this walks the few protobuf fields needed (onnx/onnx.proto:
ModelProto.graph=7, metadata_props=14; StringStringEntryProto.key=1, value=2; GraphProto.initializer=5, input=11, output=12; ValueInfoProto.name=1, type=2;
TypeProto.tensor_type=1; Tensor.elem_type=1, shape=2; TensorShapeProto.dim=1;
Dimension.dim_value=1, dim_param=2; TensorProto.name=8).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from app.tiled.errors import EngineError

#: ONNX TensorProto.DataType values the app can meet.
ELEM_TYPES = {1: "float32", 10: "float16", 6: "int32", 7: "int64", 2: "uint8"}


@dataclass(frozen=True)
class TensorInfo:
    """One graph input or output: name, element type and dims (a ``str`` for a symbolic dim)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]


@dataclass(frozen=True)
class OnnxIO:
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    #: the model's metadata_props (``app.tiled.prepare_onnx`` records a frame-input model's crops there)
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise EngineError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field_number, wire_type, value)``; length-delimited values are bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield field, wire, value
        elif wire == 1:
            yield field, wire, buf[pos:pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise EngineError("truncated length-delimited field")
            yield field, wire, buf[pos:pos + length]
            pos += length
        elif wire == 5:
            yield field, wire, buf[pos:pos + 4]
            pos += 4
        else:
            raise EngineError(f"unsupported protobuf wire type {wire}")


def _sub(buf: bytes, number: int) -> Iterator[bytes]:
    for field, wire, value in _fields(buf):
        if field == number and wire == 2 and isinstance(value, bytes):
            yield value


def _tensor_info(value_info: bytes) -> TensorInfo:
    name = next((v.decode() for v in _sub(value_info, 1)), "")
    dtype = "unknown"
    dims: list[int | str] = []
    for type_proto in _sub(value_info, 2):
        for tensor in _sub(type_proto, 1):
            for field, _wire, value in _fields(tensor):
                if field == 1 and isinstance(value, int):
                    dtype = ELEM_TYPES.get(value, f"type{value}")
            for shape in _sub(tensor, 2):
                for dim in _sub(shape, 1):
                    entry: int | str = "?"
                    for field, _wire, value in _fields(dim):
                        if field == 1 and isinstance(value, int):
                            entry = value
                        elif field == 2 and isinstance(value, bytes):
                            entry = value.decode()
                    dims.append(entry)
    return TensorInfo(name=name, dtype=dtype, shape=tuple(dims))


def read_onnx_io(path: Path) -> OnnxIO:
    """Graph inputs (initialisers excluded) and outputs of the ONNX file at ``path``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EngineError(f"cannot read engine file '{path}': {exc.strerror}") from None
    try:
        graph = next(_sub(data, 7), None)
        if graph is None:
            raise EngineError("no graph")
        initialisers = {v.decode() for init in _sub(graph, 5) for v in _sub(init, 8)}
        inputs = tuple(t for t in map(_tensor_info, _sub(graph, 11)) if t.name not in initialisers)
        outputs = tuple(map(_tensor_info, _sub(graph, 12)))
        metadata = {next(_sub(entry, 1), b"").decode(): next(_sub(entry, 2), b"").decode()
                    for entry in _sub(data, 14)}
    except (EngineError, UnicodeDecodeError, IndexError) as exc:
        raise EngineError(f"engine file '{path}' is not a valid ONNX model ({exc})") from None
    if not inputs or not outputs:
        raise EngineError(f"engine file '{path}' is not a valid ONNX model (no graph inputs or outputs)")
    return OnnxIO(inputs=inputs, outputs=outputs, metadata=metadata)
