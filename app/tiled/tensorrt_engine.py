"""TensorRT 10 engine (on the device): named I/O tensors, static batch, ``execute_async_v3``.

The engine is built from an ONNX prepared by ``python -m app.tiled.prepare_onnx``: its input is the uint8
tile batch ``[B, H, W, 3]`` (TensorRT's Cast/transpose/scale run on the GPU), and its one output ``[B, N, 6]``
comes back into a host buffer allocated once. The input's host side is :attr:`TensorRTEngine.input_buffer`,
page-locked (``cudaMallocHost``), which the pipeline's slicer writes the tiles into: the copy to the device is
then DMA. From ordinary pageable memory the CUDA driver would first copy the 9.8 MB of a 1080p frame's tiles
into a staging buffer on the CPU, doubling the host's share of the slice; it still works, for a caller's own
batch, only slower.

Importable without TensorRT: ``tensorrt`` and the CUDA binding are imported when an engine is opened.
Device buffers go through cuda-python's runtime binding (``cuda.bindings.runtime``, or the older
``cuda.cudart``), not a framework. I/O names, shapes and dtypes are read from the engine itself
(``num_io_tensors``, ``get_tensor_name``, ``get_tensor_mode``, ``get_tensor_shape``,
``get_tensor_dtype``) and checked by :func:`app.tiled.engines.resolve_spec`, so a b4 engine or an
unexpected layout fails with "expected ... found ..." before any frame is read.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.tiled.contract import EngineSpec, TensorDesc, check_batch, check_output, resolve_spec
from app.tiled.errors import EngineError

#: TensorRT DataType names -> the app's dtype names.
_DTYPES = {"FLOAT": "float32", "HALF": "float16", "INT32": "int32", "INT64": "int64", "INT8": "int8",
           "BOOL": "bool", "UINT8": "uint8"}


def describe_io(engine: Any, trt: Any) -> tuple[list[TensorDesc], list[TensorDesc]]:
    """Inputs and outputs of a deserialised TRT 10 ``ICudaEngine`` as :class:`TensorDesc` lists."""
    inputs: list[TensorDesc] = []
    outputs: list[TensorDesc] = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        shape = tuple(int(d) for d in engine.get_tensor_shape(name))
        dtype_name = getattr(engine.get_tensor_dtype(name), "name", str(engine.get_tensor_dtype(name)))
        desc = TensorDesc(name, shape, _DTYPES.get(dtype_name.split(".")[-1], dtype_name))
        (inputs if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else outputs).append(desc)
    return inputs, outputs


def _import_cudart() -> Any:
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError:
            raise EngineError("TensorRT engines need cuda-python (pip install cuda-python matching the CUDA "
                              "of the device); found none") from None
    return cudart


def _check(result: Any, what: str) -> Any:
    """cuda-python returns ``(err, *values)``; raise on a non-success ``err``."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise EngineError(f"CUDA {what} failed: {err}")
    return values[0] if len(values) == 1 else values


class TensorRTEngine:
    """A serialised TensorRT 10 engine run on a CUDA stream with one device buffer per I/O tensor."""

    def __init__(self, path: Path, expected_batch: int | None = 8, trt: Any = None, cudart: Any = None) -> None:
        path = Path(path)
        if not path.is_file():
            raise EngineError(f"engine file '{path}' not found; expected a TensorRT engine built on this device "
                              "(e.g. model_b8_gpu0_fp32.engine, mounted read-only)")
        if trt is None:
            try:
                import tensorrt

                trt = tensorrt
            except ImportError:
                raise EngineError(f"engine '{path}' is a TensorRT engine but the tensorrt module is not "
                                  "installed; use an ONNX model (CPU) on this machine") from None
        self._trt = trt
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self._engine is None:
            raise EngineError(f"TensorRT cannot deserialise '{path}' (built by another TensorRT version or "
                              "for another GPU); rebuild it on this device")
        inputs, outputs = describe_io(self._engine, trt)
        self.spec: EngineSpec = resolve_spec(inputs, outputs, expected_batch, source=f"engine '{path}'")
        self._descs = {d.name: d for d in inputs + outputs}
        self._cudart = cudart or _import_cudart()
        self._context = self._engine.create_execution_context()
        self._stream: Any = None
        self._host: dict[str, npt.NDArray[Any]] = {}
        self._device: dict[str, int] = {}
        self._pinned: int | None = None
        try:
            self._allocate()
        except BaseException:
            self.close()  # what was allocated before the failing call (device memory is scarce on an Orin)
            raise

    def _allocate(self) -> None:
        """The stream, the page-locked input, the output's host buffer and one device buffer per tensor."""
        self._stream = _check(self._cudart.cudaStreamCreate(), "stream creation")
        for name, desc in self._descs.items():
            shape = tuple(int(d) for d in desc.shape)
            nbytes = int(np.prod(shape)) * np.dtype(desc.dtype).itemsize
            if name == self.spec.input_name:  # uint8, checked by resolve_spec
                self._pinned = int(_check(self._cudart.cudaMallocHost(nbytes),
                                          f"cudaMallocHost({nbytes}) for '{name}'"))
                self.input_buffer = np.ctypeslib.as_array(
                    (ctypes.c_uint8 * nbytes).from_address(self._pinned)).reshape(shape)
            else:
                self._host[name] = np.empty(shape, dtype=np.dtype(desc.dtype))
            ptr = _check(self._cudart.cudaMalloc(nbytes), f"cudaMalloc({nbytes}) for '{name}'")
            self._device[name] = int(ptr)
            self._context.set_tensor_address(name, int(ptr))

    def infer(self, batch: npt.NDArray[np.uint8], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """Run one batch; the result is the engine's output buffer, overwritten by the next call."""
        check_batch(self.spec, batch)
        cudart = self._cudart
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(cudart.cudaMemcpyAsync(self._device[self.spec.input_name], batch.ctypes.data, batch.nbytes, h2d,
                                      self._stream), "host-to-device copy")
        if not self._context.execute_async_v3(int(self._stream)):
            raise EngineError("TensorRT execute_async_v3 failed")
        out = self._host[self.spec.output_name]
        _check(cudart.cudaMemcpyAsync(out.ctypes.data, self._device[self.spec.output_name], out.nbytes, d2h,
                                      self._stream), "device-to-host copy")
        _check(cudart.cudaStreamSynchronize(self._stream), "stream synchronise")
        return check_output(self.spec, out)

    def close(self) -> None:
        """Free the device buffers and the page-locked input (``input_buffer`` must not be used after)."""
        for ptr in self._device.values():
            self._cudart.cudaFree(ptr)
        self._device.clear()
        if self._pinned is not None:
            self._cudart.cudaFreeHost(self._pinned)
            self._pinned = None
        if self._stream is not None:
            self._cudart.cudaStreamDestroy(self._stream)
            self._stream = None
