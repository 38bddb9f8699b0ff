"""The engines behind the contract of :mod:`app.tiled.contract`: OpenCV DNN on the CPU (an ONNX model) and
TensorRT on the device (:mod:`app.tiled.tensorrt_engine`), picked by file type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.tiled.contract import (FRAME_TILES_KEY, PREPARE_HINT, Engine, EngineSpec, TensorDesc, check_batch,
                                check_output, parse_frame_tiles, resolve_spec)
from app.tiled.errors import EngineError

__all__ = ["PREPARE_HINT", "Engine", "EngineSpec", "OpenCVEngine", "TensorDesc", "check_batch", "check_output",
           "load_engine", "resolve_spec"]


class OpenCVEngine:
    """CPU engine: an ONNX model run by OpenCV DNN (keeps onnxruntime, which crashes on Orin, out;
    onnxruntime#28301)."""

    def __init__(self, path: Path, expected_batch: int | None = 8, threads: int | None = None) -> None:
        import cv2

        from app.tiled.onnx_meta import read_onnx_io

        path = Path(path)
        if not path.is_file():
            raise EngineError(f"engine file '{path}' not found; expected an ONNX model (build one with "
                              "`make tiled-assets`) or a TensorRT .engine on the device")
        io = read_onnx_io(path)
        source = f"engine '{path}'"
        self.spec = resolve_spec([TensorDesc(t.name, t.shape, t.dtype) for t in io.inputs],
                                 [TensorDesc(t.name, t.shape, t.dtype) for t in io.outputs],
                                 expected_batch, source=source,
                                 frame_tiles=parse_frame_tiles(io.metadata.get(FRAME_TILES_KEY, ""), source))
        try:
            self._net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise EngineError(f"OpenCV DNN cannot load engine '{path}': {str(exc).strip().splitlines()[-1]}") from None
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        if threads is not None:
            cv2.setNumThreads(threads)

    def infer(self, batch: npt.NDArray[np.uint8], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """``batch`` is the tile batch, or ``[1, H, W, 3]``, the frame, for a frame-input model."""
        check_batch(self.spec, batch)
        # OpenCV DNN takes the uint8 blob as it is; its input layer widens it to float32 (exactly) and the
        # graph's Cast is then an identity.
        self._net.setInput(batch, self.spec.input_name)
        return check_output(self.spec, np.asarray(self._net.forward(self.spec.output_name)))

    def close(self) -> None:
        """Nothing to release: OpenCV owns the network's memory."""


def load_engine(path: Path, expected_batch: int | None = 8) -> Engine:
    """Pick the engine by file type: ``.engine``/``.plan`` -> TensorRT, anything else -> OpenCV DNN (ONNX)."""
    path = Path(path)
    if path.suffix in (".engine", ".plan", ".trt"):
        from app.tiled.tensorrt_engine import TensorRTEngine

        return TensorRTEngine(path, expected_batch=expected_batch)
    return OpenCVEngine(path, expected_batch=expected_batch)
