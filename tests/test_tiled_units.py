"""Unit tests of the tiled app's pieces: geometry, preprocessing, decode, padding, layouts, engines, labels."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from app.tiled.engines import LAYOUT_B_N_6, LAYOUT_SPLIT, EngineSpec, TensorDesc, resolve_spec, to_b_n_6
from app.tiled.errors import ConfigError, EngineError, EngineLayoutError, LabelsError
from app.tiled.geometry import slice_boxes
from app.tiled.pipeline import TiledDetector
from app.tiled.postprocess import decode
from app.tiled.preprocess import PAD_VALUE, BatchPreprocessor
from app.tiled.video import load_labels


@pytest.mark.parametrize(("size", "count"), [((1920, 1080), 8), ((3840, 2160), 32), ((1080, 1920), 8),
                                             ((640, 640), 1), ((300, 200), 1)],
                         ids=["1080p", "4k", "portrait", "exact", "small"])
def test_tile_counts(size: tuple[int, int], count: int) -> None:
    tiles = slice_boxes(*size)
    assert len(tiles) == count, f"{size}: {len(tiles)} tiles, expected {count}"


@pytest.mark.parametrize(("tile", "overlap"), [(0, 0.2), (640, 1.0), (640, -0.1), (True, 0.2)],
                         ids=["zero-tile", "full-overlap", "negative-overlap", "bool-tile"])
def test_bad_tiling_is_a_config_error(tile: int, overlap: float) -> None:
    with pytest.raises(ConfigError, match="must be"):
        slice_boxes(1920, 1080, tile, overlap)


def test_preprocess_writes_rgb_scaled_nchw_in_place_and_pads_with_grey() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[..., 0] = 10   # B
    frame[..., 2] = 200  # R
    pre = BatchPreprocessor(8, (640, 640))
    buf = pre.batch
    tiles = slice_boxes(1920, 1080)[:3]
    lb = pre.fill(frame, tiles)
    assert pre.batch is buf, "the batch buffer was reallocated"
    assert np.allclose(buf[0, 0], 200 / 255) and np.allclose(buf[0, 2], 10 / 255), "channel 0 must be R, 2 must be B"
    assert np.allclose(buf[3:], PAD_VALUE / 255), "padding rows must hold grey"
    assert lb.scales.tolist() == [1.0] * 8, f"no resize expected at 640 tiles, got {lb.scales}"


def test_small_tile_is_letterboxed_top_left() -> None:
    frame = np.full((200, 300, 3), 255, np.uint8)
    pre = BatchPreprocessor(1, (640, 640))
    lb = pre.fill(frame, slice_boxes(300, 200))
    r = 640 / 300
    assert lb.scales[0] == pytest.approx(r), f"scale {lb.scales[0]}, expected {r}"
    assert np.allclose(pre.batch[0, :, :426, :640], 1.0), "the resized tile must fill the top-left"
    assert np.allclose(pre.batch[0, :, 427:, :], PAD_VALUE / 255), "below the tile must be grey padding"


def test_decode_thresholds_unletterboxes_clips_and_drops_non_finite() -> None:
    raw = np.zeros((2, 4, 6), np.float32)
    raw[0, 0] = (10, 10, 50, 50, 0.9, 1)
    raw[0, 1] = (10, 10, 50, 50, 0.1, 1)       # below conf
    raw[1, 0] = (600, 600, 700, 700, 0.8, 2)   # past the tile: clipped
    raw[1, 1] = (np.nan, 0, 5, 5, 0.9, 0)      # non-finite: dropped
    tiles = np.array([[0, 0, 640, 640], [512, 0, 1152, 640]], np.int32)
    dets = decode(raw, tiles, np.array([2.0, 1.0], np.float32), conf=0.25)
    assert dets.tile_ids.tolist() == [0, 1], f"tile ids {dets.tile_ids}"
    assert dets.boxes[0].tolist() == [5, 5, 25, 25], f"letterbox scale 2 not undone: {dets.boxes[0]}"
    assert dets.boxes[1].tolist() == [600, 600, 640, 640], f"not clipped to the tile: {dets.boxes[1]}"
    assert dets.class_ids.tolist() == [1, 2]


class _EveryRowEngine:
    """Reports one detection in every batch row, padding rows included."""

    spec = EngineSpec(8, (640, 640), "input", "float32", LAYOUT_B_N_6, ("output",), 4)

    def infer(self, batch: np.ndarray, tiles: np.ndarray) -> np.ndarray:
        out = np.zeros((8, 4, 6), np.float32)
        out[:, 0] = (100, 100, 140, 140, 0.9, 0)
        return out

    def close(self) -> None:
        pass


def test_partial_batch_padding_is_never_reported() -> None:
    detector = TiledDetector(_EveryRowEngine())
    frame = np.zeros((1200, 1920, 3), np.uint8)  # 12 tiles: one full batch and one with 4 padding rows
    dets, tiles = detector.detect_raw(frame)
    assert len(tiles) == 12, f"expected 12 tiles, got {len(tiles)}"
    assert sorted(dets.tile_ids.tolist()) == list(range(12)), (
        f"detections came from tiles {sorted(dets.tile_ids.tolist())}; expected exactly one per real tile 0..11")


def test_layout_b_n_6_resolves() -> None:
    spec = resolve_spec([TensorDesc("input", (8, 3, 640, 640))], [TensorDesc("output", (8, 8400, 6))])
    assert (spec.layout, spec.batch_size, spec.input_hw, spec.num_anchors) == (LAYOUT_B_N_6, 8, (640, 640), 8400)


def test_split_layout_resolves_and_converts_centre_boxes() -> None:
    spec = resolve_spec([TensorDesc("images", (8, 3, 640, 640))],
                        [TensorDesc("scores", (8, 10, 1)), TensorDesc("boxes", (8, 10, 4)),
                         TensorDesc("classes", (8, 10, 1))])
    assert spec.layout == LAYOUT_SPLIT and spec.output_names == ("boxes", "scores", "classes")
    boxes = np.zeros((8, 10, 4), np.float32)
    boxes[0, 0] = (100, 50, 20, 10)
    out = to_b_n_6(spec, {"boxes": boxes, "scores": np.full((8, 10, 1), 0.5, np.float32),
                          "classes": np.full((8, 10, 1), 3, np.float32)})
    assert out[0, 0].tolist() == [90, 45, 110, 55, 0.5, 3], f"xc,yc,w,h not converted: {out[0, 0]}"


@pytest.mark.parametrize(("inputs", "outputs", "message"), [
    ([TensorDesc("input", (4, 3, 640, 640))], [TensorDesc("output", (4, 8400, 6))],
     "expected batch 8, found batch 4"),
    ([TensorDesc("input", (-1, 3, 640, 640))], [TensorDesc("output", (-1, 8400, 6))],
     "expected a static input shape"),
    ([TensorDesc("input", (8, 640, 640, 3))], [TensorDesc("output", (8, 8400, 6))],
     r"expected input \[B,3,H,W\]"),
    ([TensorDesc("input", (8, 3, 640, 640))], [TensorDesc("output", (8, 84, 8400))],
     r"expected one output \[B,N,6\] or boxes|expected output \[B,N,6\]"),
    ([TensorDesc("input", (8, 3, 640, 640))], [TensorDesc("output", (8, 8400, 7))],
     r"expected output \[B,N,6\] \(x1,y1,x2,y2,score,class\), found 'output' \[8, 8400, 7\]"),
], ids=["batch-4", "dynamic", "nhwc", "ultralytics-raw", "seven-columns"])
def test_layout_mismatch_says_expected_and_found(inputs: list[TensorDesc], outputs: list[TensorDesc],
                                                 message: str) -> None:
    with pytest.raises(EngineLayoutError, match=message):
        resolve_spec(inputs, outputs, expected_batch=8)


def test_onnx_io_is_read_without_onnx(tiled_onnx: Path) -> None:
    from app.tiled.onnx_meta import read_onnx_io

    io = read_onnx_io(tiled_onnx)
    assert [(t.name, t.shape) for t in io.inputs] == [("input", (8, 3, 640, 640))], f"inputs {io.inputs}"
    assert [(t.name, t.shape) for t in io.outputs] == [("output", (8, 8400, 6))], f"outputs {io.outputs}"


def test_garbage_is_not_an_onnx_model(tmp_path: Path) -> None:
    from app.tiled.engines import OpenCVEngine

    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"\xff\xff\xff\xff not a model")
    with pytest.raises(EngineError, match="is not a valid ONNX model"):
        OpenCVEngine(bad)


def test_labels_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(LabelsError, match="not found"):
        load_labels(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(LabelsError, match="is empty"):
        load_labels(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(LabelsError, match="unreadable"):
        load_labels(tmp_path / "latin1.txt")
    with pytest.raises(LabelsError, match="unreadable"):
        load_labels(tmp_path)


# --- TensorRT engine, with fakes of the TRT 10 and cuda-python APIs (no GPU here) -------------------------

class _FakeDims(tuple):
    pass


class _FakeCudaEngine:
    def __init__(self, io: list[tuple[str, tuple[int, ...], str, str]]) -> None:
        self._io = io
        self.num_io_tensors = len(io)

    def get_tensor_name(self, i: int) -> str:
        return self._io[i][0]

    def _find(self, name: str) -> tuple[str, tuple[int, ...], str, str]:
        return next(t for t in self._io if t[0] == name)

    def get_tensor_shape(self, name: str) -> _FakeDims:
        return _FakeDims(self._find(name)[1])

    def get_tensor_dtype(self, name: str) -> types.SimpleNamespace:
        return types.SimpleNamespace(name=self._find(name)[2])

    def get_tensor_mode(self, name: str) -> str:
        return self._find(name)[3]

    def create_execution_context(self) -> "_FakeContext":
        return _FakeContext(self)


class _FakeContext:
    def __init__(self, engine: _FakeCudaEngine) -> None:
        self.addresses: dict[str, int] = {}

    def set_tensor_address(self, name: str, ptr: int) -> None:
        self.addresses[name] = ptr

    def execute_async_v3(self, stream: int) -> bool:
        return True


def _fake_trt(io: list[tuple[str, tuple[int, ...], str, str]]) -> types.SimpleNamespace:
    engine = _FakeCudaEngine(io)
    return types.SimpleNamespace(
        Logger=type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None}),
        Runtime=lambda logger: types.SimpleNamespace(deserialize_cuda_engine=lambda data: engine),
        TensorIOMode=types.SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT"),
    )


class _FakeCudart:
    """cuda-python's (err, value) convention; device memory is a dict of numpy arrays."""

    cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)

    def __init__(self) -> None:
        self.freed: list[int] = []
        self.mallocs = 0

    def cudaStreamCreate(self) -> tuple[int, int]:
        return 0, 7

    def cudaMalloc(self, n: int) -> tuple[int, int]:
        self.mallocs += 1
        return 0, 1000 + self.mallocs

    def cudaMemcpyAsync(self, dst: int, src: int, n: int, kind: int, stream: int) -> tuple[int]:
        return (0,)

    def cudaStreamSynchronize(self, stream: int) -> tuple[int]:
        return (0,)

    def cudaFree(self, ptr: int) -> tuple[int]:
        self.freed.append(ptr)
        return (0,)

    def cudaStreamDestroy(self, stream: int) -> tuple[int]:
        return (0,)


def test_tensorrt_engine_reads_io_from_the_engine_and_binds_every_tensor(tmp_path: Path) -> None:
    from app.tiled.tensorrt_engine import TensorRTEngine

    path = tmp_path / "model_b8_gpu0_fp32.engine"
    path.write_bytes(b"serialised")
    io = [("input", (8, 3, 640, 640), "FLOAT", "INPUT"), ("output", (8, 8400, 6), "FLOAT", "OUTPUT")]
    cudart = _FakeCudart()
    engine = TensorRTEngine(path, trt=_fake_trt(io), cudart=cudart)
    assert engine.spec.layout == LAYOUT_B_N_6 and engine.spec.batch_size == 8, f"spec {engine.spec}"
    assert cudart.mallocs == 2, f"expected one device buffer per I/O tensor, got {cudart.mallocs}"
    out = engine.infer(np.zeros((8, 3, 640, 640), np.float32), np.full((8, 4), -1, np.int32))
    assert out.shape == (8, 8400, 6), f"output {out.shape}"
    engine.close()
    assert len(cudart.freed) == 2, "device buffers must be freed on close"


def test_tensorrt_engine_with_batch_4_is_refused_saying_expected_and_found(tmp_path: Path) -> None:
    from app.tiled.tensorrt_engine import TensorRTEngine

    path = tmp_path / "model_b4_gpu0_fp16.engine"
    path.write_bytes(b"serialised")
    io = [("input", (4, 3, 640, 640), "HALF", "INPUT"), ("boxes", (4, 8400, 4), "FLOAT", "OUTPUT"),
          ("scores", (4, 8400, 1), "FLOAT", "OUTPUT"), ("classes", (4, 8400, 1), "FLOAT", "OUTPUT")]
    with pytest.raises(EngineLayoutError, match="expected batch 8, found batch 4"):
        TensorRTEngine(path, trt=_fake_trt(io), cudart=_FakeCudart())


def test_tensorrt_module_imports_without_tensorrt() -> None:
    import importlib

    module = importlib.import_module("app.tiled.tensorrt_engine")
    assert hasattr(module, "TensorRTEngine"), "app.tiled.tensorrt_engine must import without tensorrt"


def test_runtime_never_imports_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, app.tiled.cli, app.tiled.video, app.tiled.pipeline, app.tiled.engines, app.tiled.track, "
            "app.tiled.tensorrt_engine; "
            "bad = sorted(m for m in ('torch', 'onnxruntime', 'onnx') if m in sys.modules); print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", f"the runtime imported {out.stdout.strip()}; expected none (issue 4)"


@pytest.fixture(scope="module")
def tiled_onnx() -> Path:
    from conformance.tiled.assets import ensure_detector

    return ensure_detector()


def test_fp16_engines_get_an_fp16_batch() -> None:
    pre = BatchPreprocessor(8, (640, 640), np.float16)
    pre.fill(np.full((1080, 1920, 3), 255, np.uint8), slice_boxes(1920, 1080))
    assert pre.batch.dtype == np.float16 and np.allclose(pre.batch, 1.0), f"batch {pre.batch.dtype}"
    with pytest.raises(ConfigError, match="input dtype must be float32 or float16, but got int8"):
        BatchPreprocessor(8, (640, 640), np.int8)
