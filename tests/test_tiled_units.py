"""Unit tests of the tiled app's pieces: geometry, slicing, decode, padding, the engine contract, engines, labels."""

from __future__ import annotations

import ctypes
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.tiled.engines import EngineSpec, TensorDesc, resolve_spec
from app.tiled.errors import ConfigError, EngineError, EngineLayoutError, LabelsError
from app.tiled.geometry import slice_boxes
from app.tiled.pipeline import TiledDetector
from app.tiled.postprocess import decode
from app.tiled.slicing import PAD_VALUE, BatchSlicer
from app.tiled.video import load_labels
from conformance.builders.scenes import GroundTruthDetector, seam_scene


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


def test_slicer_copies_the_frames_bytes_into_the_reused_uint8_batch_and_pads_with_grey() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[..., 0] = 10   # B
    frame[..., 2] = 200  # R
    slicer = BatchSlicer(8, (640, 640))
    buf = slicer.batch
    scales = slicer.fill(frame, slice_boxes(1920, 1080)[:3])
    assert slicer.batch is buf and buf.dtype == np.uint8 and buf.shape == (8, 640, 640, 3), "the batch was replaced"
    assert (buf[:3, ..., 0] == 10).all() and (buf[:3, ..., 2] == 200).all(), "tiles must keep the frame's BGR bytes"
    assert (buf[3:] == PAD_VALUE).all(), "padding rows must hold grey"
    assert scales.tolist() == [1.0] * 8, f"no resize expected at 640 tiles, got {scales}"
    slicer.fill(frame, slice_boxes(1920, 1080))
    assert (buf[3:, ..., 2] == 200).all(), "a full batch must overwrite the padding rows"
    slicer.fill(frame, slice_boxes(1920, 1080)[:1])
    assert (buf[1:] == PAD_VALUE).all(), "rows a smaller batch leaves must be grey again"


def test_slicer_takes_a_given_buffer_of_the_batchs_shape_only() -> None:
    buffer = np.zeros((8, 640, 640, 3), np.uint8)
    slicer = BatchSlicer(8, (640, 640), buffer=buffer)
    assert slicer.batch is buffer and (buffer == PAD_VALUE).all(), "the given buffer must be the batch, all grey"
    with pytest.raises(ConfigError, match=r"slicer buffer float32 \[8, 640, 640, 3\] .* expected uint8"):
        BatchSlicer(8, (640, 640), buffer=np.zeros((8, 640, 640, 3), np.float32))
    with pytest.raises(ConfigError, match=r"slicer buffer uint8 \[4, 640, 640, 3\] .* \[8, 640, 640, 3\]"):
        BatchSlicer(8, (640, 640), buffer=np.zeros((4, 640, 640, 3), np.uint8))


def test_small_tile_is_letterboxed_top_left() -> None:
    frame = np.full((200, 300, 3), 255, np.uint8)
    slicer = BatchSlicer(1, (640, 640))
    scales = slicer.fill(frame, slice_boxes(300, 200))
    r = 640 / 300
    assert scales[0] == pytest.approx(r), f"scale {scales[0]}, expected {r}"
    assert (slicer.batch[0, :426, :640] == 255).all(), "the resized tile must fill the top-left"
    assert (slicer.batch[0, 427:, :] == PAD_VALUE).all(), "below the tile must be grey padding"


def test_decode_thresholds_unletterboxes_clips_and_drops_non_finite() -> None:
    raw = np.zeros((2, 4, 6), np.float32)
    raw[0, 0] = (10, 10, 50, 50, 0.9, 1)
    raw[0, 1] = (10, 10, 50, 50, 0.1, 1)       # below conf
    raw[1, 0] = (600, 600, 700, 700, 0.8, 2)   # past the tile: clipped
    raw[1, 1] = (np.nan, 0, 5, 5, 0.9, 0)      # non-finite: dropped
    tiles = np.array([[0, 0, 640, 640], [512, 0, 1152, 640]], np.int32)
    dets = decode(raw, tiles, np.array([2.0, 1.0], np.float32), conf=0.25, first_tile=8)
    assert dets.tile_ids.tolist() == [8, 9], f"tile ids {dets.tile_ids}, expected the batch's 8 and 9"
    assert dets.boxes[0].tolist() == [5, 5, 25, 25], f"letterbox scale 2 not undone: {dets.boxes[0]}"
    assert dets.boxes[1].tolist() == [600, 600, 640, 640], f"not clipped to the tile: {dets.boxes[1]}"
    assert dets.class_ids.tolist() == [1, 2]


class _EveryRowEngine:
    """Reports one detection in every batch row, padding rows included."""

    spec = EngineSpec(8, (640, 640), "tiles", "detections", 4)

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


def test_the_engine_contract_resolves() -> None:
    spec = resolve_spec([TensorDesc("tiles", (8, 640, 640, 3), "uint8")], [TensorDesc("detections", (8, 8400, 6))])
    assert (spec.batch_size, spec.input_hw, spec.num_anchors, spec.output_name) == (8, (640, 640), 8400, "detections")


U8 = "uint8"


@pytest.mark.parametrize(("inputs", "outputs", "message"), [
    ([TensorDesc("tiles", (4, 640, 640, 3), U8)], [TensorDesc("output", (4, 8400, 6))],
     "expected batch 8, found batch 4"),
    ([TensorDesc("tiles", (-1, 640, 640, 3), U8)], [TensorDesc("output", (-1, 8400, 6))],
     "expected a static input shape"),
    ([TensorDesc("input", (8, 3, 640, 640), "float32")], [TensorDesc("output", (8, 8400, 6))],
     r"expected a uint8 input \[B,H,W,3\].*found float32 'input' \[8, 3, 640, 640\]; prepare the ONNX with "
     r"`python -m app.tiled.prepare_onnx"),
    ([TensorDesc("tiles", (8, 640, 640, 3), U8)], [TensorDesc("output", (8, 84, 8400))],
     r"expected output \[B,N,6\] .*found 'output' \[8, 84, 8400\]; prepare the ONNX"),
    ([TensorDesc("tiles", (8, 640, 640, 3), U8)], [TensorDesc("output", (8, 8400, 7))],
     r"expected output \[B,N,6\] \(x1,y1,x2,y2,score,class\), found 'output' \[8, 8400, 7\]"),
    ([TensorDesc("tiles", (8, 640, 640, 3), U8)],
     [TensorDesc("boxes", (8, 8400, 4)), TensorDesc("scores", (8, 8400, 1)), TensorDesc("classes", (8, 8400, 1))],
     r"expected one output \[B,N,6\].*decodes boxes/scores/classes and \[B,4\+C,N\] outputs in the graph"),
], ids=["batch-4", "dynamic", "float-nchw", "ultralytics-raw", "seven-columns", "split-outputs"])
def test_engine_mismatch_says_expected_and_found(inputs: list[TensorDesc], outputs: list[TensorDesc],
                                                 message: str) -> None:
    with pytest.raises(EngineLayoutError, match=message):
        resolve_spec(inputs, outputs, expected_batch=8)


def test_a_frame_input_engine_is_one_whole_frame_in_and_a_batch_of_tiles_out() -> None:
    spec = resolve_spec([TensorDesc("frame", (1, 1080, 1920, 3), U8)], [TensorDesc("detections", (8, 8400, 6))])
    assert (spec.frame_input, spec.batch_size, spec.input_hw, spec.input_shape) == (
        True, 8, (1080, 1920), (1, 1080, 1920, 3)), f"spec {spec}"
    with pytest.raises(EngineLayoutError, match=r"expected batch 8, found tiles per frame 4 \(input 'frame'"):
        resolve_spec([TensorDesc("frame", (1, 1080, 1920, 3), U8)], [TensorDesc("detections", (4, 8400, 6))])
    with pytest.raises(EngineLayoutError, match=r"records 2 frame tiles for a frame input with batch 8; expected one "
                                                r"x0,y0,x1,y1 crop per output row"):
        resolve_spec([TensorDesc("frame", (1, 1080, 1920, 3), U8)], [TensorDesc("detections", (8, 8400, 6))],
                     frame_tiles=[(0, 0, 640, 640), (512, 0, 1152, 640)])


def _frame_stand_in(candidates: int = 1) -> tuple[GroundTruthDetector, GroundTruthDetector, np.ndarray]:
    """Two stand-ins of the same 1080p seam scene, a tile-input and a frame-input one, and the frame."""
    scene = seam_scene(1920, 1080)
    _ids, truth, classes = scene.truth(0)
    engines = (GroundTruthDetector(candidates=candidates), GroundTruthDetector(candidates=candidates,
                                                                               frame_hw=(1080, 1920)))
    for engine in engines:
        engine.set_truth(truth, classes)
    return engines[0], engines[1], scene.render(0)


def test_a_frame_input_engine_gives_the_detections_of_sliced_tiles() -> None:
    tile_input, frame_input, frame = _frame_stand_in(candidates=4)
    sliced, cropped = TiledDetector(tile_input), TiledDetector(frame_input)
    assert cropped.slicer is None, "the host must not slice for a frame-input engine"
    expected, found = sliced.detect(frame), cropped.detect(frame)
    assert len(found) == len(expected) > 0 and np.array_equal(found.boxes, expected.boxes), (
        f"frame input: {len(found)} detections, tile input {len(expected)}; expected the same boxes")
    assert np.array_equal(frame_input.input_buffer[0], frame), "the frame must be copied into the engine's input"


def test_a_frame_input_engine_refuses_other_frame_sizes_and_other_tilings() -> None:
    _tile_input, frame_input, _frame = _frame_stand_in()
    with pytest.raises(ConfigError, match=r"frame 1280x720 does not match the engine's frame input 1920x1080; "
                                          r"expected frames of that size"):
        TiledDetector(frame_input).detect(np.zeros((720, 1280, 3), np.uint8))
    with pytest.raises(ConfigError, match=r"the engine crops 8 tiles from 1920x1080 frames, but tile 512 and overlap "
                                          r"0.2 make 15; expected the tiling the model was prepared with"):
        TiledDetector(frame_input, tile=512)
    recorded = types.SimpleNamespace(spec=EngineSpec(8, (1080, 1920), "frame", "detections", 4, frame_input=True,
                                                     frame_tiles=tuple(map(tuple, slice_boxes(1920, 1080).tolist()))))
    with pytest.raises(ConfigError, match=r"at \[\(0, 0, 640, 640\), \(512, 0, 1152, 640\)\]\.\.\., but tile 640 "
                                          r"and overlap 0.1 give \[\[0, 0, 640, 640\], \[576, 0, 1216, 640\]\]"):
        TiledDetector(recorded, overlap=0.1)


def test_onnx_io_is_read_without_onnx(tiled_onnx: Path) -> None:
    from app.tiled.onnx_meta import read_onnx_io

    io = read_onnx_io(tiled_onnx)
    assert [(t.name, t.dtype, t.shape) for t in io.inputs] == [("tiles", "uint8", (8, 640, 640, 3))], (
        f"inputs {io.inputs}")
    assert [(t.name, t.shape) for t in io.outputs] == [("detections", (8, 8400, 6))], f"outputs {io.outputs}"


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
    """cuda-python's (err, value) convention. Device pointers are numbers; page-locked host memory is real
    (numpy arrays kept alive here), and a device-to-host copy writes zeros (no detections) to its destination."""

    cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)

    def __init__(self, device_memory_for: int | None = None) -> None:
        self.device_memory_for = device_memory_for  # cudaMalloc calls that succeed (None: all)
        self.freed: list[int] = []
        self.mallocs = 0
        self.copies: list[tuple[int, int]] = []
        self.page_locked: dict[int, np.ndarray] = {}
        self.freed_host: list[int] = []
        self.destroyed_streams: list[int] = []

    def cudaMallocHost(self, n: int) -> tuple[int, int]:
        memory = np.zeros(n, np.uint8)
        self.page_locked[memory.ctypes.data] = memory
        return 0, memory.ctypes.data

    def cudaFreeHost(self, ptr: int) -> tuple[int]:
        self.freed_host.append(ptr)
        return (0,)

    def cudaStreamCreate(self) -> tuple[int, int]:
        return 0, 7

    def cudaMalloc(self, n: int) -> tuple[int, int]:
        if self.device_memory_for is not None and self.mallocs >= self.device_memory_for:
            return 2, 0  # cudaErrorMemoryAllocation
        self.mallocs += 1
        return 0, 1000 + self.mallocs

    def cudaMemcpyAsync(self, dst: int, src: int, n: int, kind: int, stream: int) -> tuple[int]:
        self.copies.append((src, n) if kind == 1 else (dst, n))
        if kind == 2:
            ctypes.memset(dst, 0, n)
        return (0,)

    def cudaStreamSynchronize(self, stream: int) -> tuple[int]:
        return (0,)

    def cudaFree(self, ptr: int) -> tuple[int]:
        self.freed.append(ptr)
        return (0,)

    def cudaStreamDestroy(self, stream: int) -> tuple[int]:
        self.destroyed_streams.append(stream)
        return (0,)


TILE_IO = [("tiles", (8, 640, 640, 3), "UINT8", "INPUT"), ("detections", (8, 8400, 6), "FLOAT", "OUTPUT")]


def _tensorrt_engine(tmp_path: Path, cudart: _FakeCudart, io: list[tuple[str, tuple[int, ...], str, str]] = TILE_IO,
                     name: str = "model_b8_gpu0_fp32.engine") -> Any:
    """A TensorRTEngine opened from an engine file of ``io``, over faked TensorRT and cuda-python."""
    from app.tiled.tensorrt_engine import TensorRTEngine

    path = tmp_path / name
    path.write_bytes(b"serialised")
    return TensorRTEngine(path, trt=_fake_trt(io), cudart=cudart)


def test_tensorrt_engine_reads_io_from_the_engine_and_binds_every_tensor(tmp_path: Path) -> None:
    cudart = _FakeCudart()
    engine = _tensorrt_engine(tmp_path, cudart)
    assert engine.spec.batch_size == 8 and engine.spec.input_hw == (640, 640), f"spec {engine.spec}"
    assert cudart.mallocs == 2, f"expected one device buffer per I/O tensor, got {cudart.mallocs}"
    batch = np.zeros((8, 640, 640, 3), np.uint8)
    out = engine.infer(batch, np.full((8, 4), -1, np.int32))
    assert out.shape == (8, 8400, 6), f"output {out.shape}"
    assert cudart.copies[0] == (batch.ctypes.data, batch.nbytes), (
        f"the uint8 batch must go to the device as it is, from the caller's buffer; first copy {cudart.copies[0]}")
    assert engine.infer(batch, np.full((8, 4), -1, np.int32)) is out, "the output buffer must be reused"
    with pytest.raises(EngineError, match=r"batch float32 \[8, 3, 640, 640\] does not match the engine input uint8"):
        engine.infer(np.zeros((8, 3, 640, 640), np.float32), np.full((8, 4), -1, np.int32))
    engine.close()
    assert len(cudart.freed) == 2, "device buffers must be freed on close"


def test_tiles_are_sliced_into_the_tensorrt_engines_page_locked_input(tmp_path: Path) -> None:
    """The host copies a frame's tiles once: into page-locked memory, which the engine sends to the device by
    DMA. From a pageable batch the CUDA driver would stage the 9.8 MB again with a CPU copy (issue 15)."""
    cudart = _FakeCudart()
    engine = _tensorrt_engine(tmp_path, cudart)
    pinned = engine.input_buffer
    assert list(cudart.page_locked) == [pinned.ctypes.data], "the engine's input must be one page-locked buffer"
    frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), np.uint8)
    detector = TiledDetector(engine)
    assert len(detector.detect(frame)) == 0, "the fake engine returns no detections"
    h2d = cudart.copies[0]
    assert h2d == (pinned.ctypes.data, pinned.nbytes), (
        f"the copy to the device read {h2d[1]} bytes at {h2d[0]:#x}, not the page-locked input at "
        f"{pinned.ctypes.data:#x}: the slicer wrote the tiles elsewhere, so the driver stages them with a CPU copy; "
        "expected TiledDetector to slice into engine.input_buffer")
    tiles = detector.tiles_for(1920, 1080)
    for i, (x0, y0, x1, y1) in enumerate(tiles.tolist()):
        assert np.array_equal(pinned[i], frame[y0:y1, x0:x1]), f"tile {i} in the page-locked input is not the frame's"
    engine.close()
    assert cudart.freed_host == [pinned.ctypes.data], "the page-locked input must be freed on close"


def test_the_frame_is_copied_once_into_a_frame_input_tensorrt_engines_page_locked_input(tmp_path: Path) -> None:
    """With a frame-input engine the graph crops the tiles on the device: the host's only copy is the 6.2 MB
    frame, into page-locked memory (issue 15)."""
    cudart = _FakeCudart()
    io = [("frame", (1, 1080, 1920, 3), "UINT8", "INPUT"), ("detections", (8, 8400, 6), "FLOAT", "OUTPUT")]
    engine = _tensorrt_engine(tmp_path, cudart, io, name="model_1080p_gpu0_fp16.engine")
    pinned = engine.input_buffer
    assert engine.spec.frame_input and pinned.shape == (1, 1080, 1920, 3), f"spec {engine.spec}, input {pinned.shape}"
    frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), np.uint8)
    detector = TiledDetector(engine)
    assert len(detector.detect(frame)) == 0, "the fake engine returns no detections"
    assert cudart.copies[0] == (pinned.ctypes.data, frame.nbytes), (
        f"the copy to the device read {cudart.copies[0]}; expected the page-locked frame ({frame.nbytes} bytes)")
    assert np.array_equal(pinned[0], frame), "the page-locked input must hold the frame"
    engine.close()


def test_an_engine_that_runs_out_of_device_memory_frees_what_it_had_allocated(tmp_path: Path) -> None:
    """On an Orin the GPU's memory is the system's: a failed open must not keep the 9.8 MB page-locked input, the
    buffers before the failing one, or the stream."""
    cudart = _FakeCudart(device_memory_for=1)
    with pytest.raises(EngineError, match=r"CUDA cudaMalloc\(1612800\) for 'detections' failed: 2"):
        _tensorrt_engine(tmp_path, cudart)
    assert cudart.freed == [1001], f"the input's device buffer must be freed, freed {cudart.freed}"
    assert cudart.freed_host == list(cudart.page_locked), "the page-locked input must be freed"
    assert cudart.destroyed_streams == [7], "the stream must be destroyed"


def test_tensorrt_engine_with_batch_4_is_refused_saying_expected_and_found(tmp_path: Path) -> None:
    io = [("tiles", (4, 640, 640, 3), "UINT8", "INPUT"), ("detections", (4, 8400, 6), "FLOAT", "OUTPUT")]
    with pytest.raises(EngineLayoutError, match="expected batch 8, found batch 4"):
        _tensorrt_engine(tmp_path, _FakeCudart(), io, name="model_b4_gpu0_fp16.engine")


def test_tensorrt_engine_of_an_unprepared_model_is_refused_with_the_fix(tmp_path: Path) -> None:
    io = [("input", (8, 3, 640, 640), "FLOAT", "INPUT"), ("output", (8, 8400, 6), "FLOAT", "OUTPUT")]
    with pytest.raises(EngineLayoutError, match=r"found float32 'input' \[8, 3, 640, 640\]; prepare the ONNX"):
        _tensorrt_engine(tmp_path, _FakeCudart(), io)


def test_tensorrt_module_imports_without_tensorrt() -> None:
    import importlib

    module = importlib.import_module("app.tiled.tensorrt_engine")
    assert hasattr(module, "TensorRTEngine"), "app.tiled.tensorrt_engine must import without tensorrt"


def test_runtime_never_imports_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, app.tiled.cli, app.tiled.video, app.tiled.pipeline, app.tiled.engines, app.tiled.track, "
            "app.tiled.bytetrack, app.tiled.slicing, app.tiled.tensorrt_engine; "
            "bad = sorted(m for m in ('torch', 'onnxruntime', 'onnx') if m in sys.modules); print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", f"the runtime imported {out.stdout.strip()}; expected none (issue 4)"


@pytest.fixture(scope="module")
def tiled_onnx() -> Path:
    from conformance.tiled.assets import ensure_detector

    return ensure_detector()
