"""`python -m app.tiled.prepare_onnx`: the graph edit that gives the model uint8 tiles and a [B, N, 6] output.

Each layout a YOLO export may have is built as a small ONNX graph with known outputs, prepared, and run by
the app's CPU engine (OpenCV DNN): the result must be the decode done by hand in numpy, exactly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
import pytest

from app.tiled.engines import OpenCVEngine
from app.tiled.errors import EngineLayoutError
from conformance import SOURCE_ROOT

onnx = pytest.importorskip("onnx", reason="preparing models needs onnx (the dev extra)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

B, N, C = 2, 50, 5


def _model(outputs: list[tuple[str, npt.NDArray[Any]]], input_dims: list[int | str] | None = None,
           input_type: int = TensorProto.FLOAT) -> Any:
    """A graph whose outputs are constants plus 0 x mean(input), so that they depend on the input."""
    nodes = [helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Mul", ["mean", "zero"], ["zeros"]),
             helper.make_node("Reshape", ["zeros", "shape"], ["zeros3"])]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero"),
             numpy_helper.from_array(np.array([B, 1, 1]), "shape")]
    graph_outputs = []
    for name, value in outputs:
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_value"))
        nodes.append(helper.make_node("Add", [f"{name}_value", "zeros3"], [name]))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    images = helper.make_tensor_value_info("images", input_type, input_dims or [B, 3, 32, 32])
    graph = helper.make_graph(nodes, "yolo-shaped", [images], graph_outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: Any, tmp_path: Path) -> npt.NDArray[np.float32]:
    from app.tiled.prepare_onnx import prepare_model

    path = tmp_path / "prepared.onnx"
    onnx.save(prepare_model(model), path)
    engine = OpenCVEngine(path, expected_batch=B)
    return engine.infer(np.zeros((B, 32, 32, 3), np.uint8), np.full((B, 4), -1, np.int32)).copy()


def _corners(xywh: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.concatenate([xywh[..., :2] - xywh[..., 2:] / 2, xywh[..., :2] + xywh[..., 2:] / 2], -1)


def test_ultralytics_output_is_decoded_in_the_graph(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, (B, 4 + C, N)).astype(np.float32)
    raw[:, :4] *= 600
    found = _run(_model([("output0", raw)]), tmp_path)
    per_anchor = raw.transpose(0, 2, 1)
    expected = np.concatenate([_corners(per_anchor[..., :4]), per_anchor[..., 4:].max(-1, keepdims=True),
                               per_anchor[..., 4:].argmax(-1)[..., None]], -1)
    assert np.array_equal(found, expected), f"max difference {np.abs(found - expected).max()} from the numpy decode"


def test_split_boxes_scores_classes_are_joined_in_the_graph(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    boxes = rng.uniform(0, 600, (B, N, 4)).astype(np.float32)
    scores = rng.uniform(size=(B, N, 1)).astype(np.float32)
    classes = rng.integers(0, C, (B, N, 1)).astype(np.float32)
    found = _run(_model([("scores", scores), ("boxes", boxes), ("classes", classes)]), tmp_path)
    expected = np.concatenate([_corners(boxes), scores, classes], -1)
    assert np.array_equal(found, expected), f"max difference {np.abs(found - expected).max()} from the numpy decode"


def test_b_n_6_output_is_kept_and_the_input_conversion_is_exact(tmp_path: Path) -> None:
    raw = np.random.default_rng(2).uniform(0, 1, (B, N, 6)).astype(np.float32)
    assert np.array_equal(_run(_model([("output", raw)]), tmp_path), raw), "a [B,N,6] output must pass unchanged"


@pytest.mark.parametrize(("model", "message"), [
    (lambda: _model([("output", np.zeros((B, N, 6)))], input_dims=["batch", 3, 32, 32]),
     r"expected a static input shape, found float32 'images' \['batch', 3, 32, 32\]"),
    (lambda: _model([("output", np.zeros((B, N, 6)))], input_dims=[B, 32, 32, 3], input_type=TensorProto.UINT8),
     r"already takes uint8 tiles .*nothing to prepare"),
    (lambda: _model([("output", np.zeros((B, N, 6)))], input_dims=[B, 32, 32, 3]),
     r"expected a float input \[B,3,H,W\] .*found float32 'images' \[2, 32, 32, 3\]"),
    (lambda: _model([("a", np.zeros((B, N, 4))), ("b", np.zeros((B, N, 1)))]),
     r"expected one output \[B,N,6\], boxes .*found float32 'a' \[2, 50, 4\], float32 'b' \[2, 50, 1\]"),
], ids=["dynamic-batch", "already-prepared", "nhwc-float", "two-outputs"])
def test_a_model_it_cannot_prepare_is_refused_saying_expected_and_found(model: Callable[[], Any], message: str) -> None:
    from app.tiled.prepare_onnx import prepare_model

    with pytest.raises(EngineLayoutError, match=message):
        prepare_model(model())


def test_cli_refuses_with_one_error_line_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "dynamic.onnx"
    onnx.save(_model([("output", np.zeros((B, N, 6)))], input_dims=["batch", 3, 32, 32]), source)
    target = tmp_path / "out" / "prepared.onnx"
    result = subprocess.run([sys.executable, "-m", "app.tiled.prepare_onnx", str(source), str(target)],
                            cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 5 and len(lines) == 1 and lines[0].startswith("error: "), (
        f"exit {result.returncode}, stderr {lines}; expected exit 5 and one 'error: ...' line")
    assert not target.exists() and not list(tmp_path.glob("**/.tmp-*")), "nothing may be written on failure"
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\xfe not a model")
    result = subprocess.run([sys.executable, "-m", "app.tiled.prepare_onnx", str(garbage), str(target)],
                            cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 5 and "is not a valid ONNX model" in result.stderr, result.stderr[-500:]


def _pixels_model() -> Any:
    """A graph whose [B, N, 6] output is its float input itself, reshaped: the prepared model's output shows the
    exact pixels the graph was given, after the input conversion."""
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [B, 3, 32, 32])
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [B, 512, 6])
    graph = helper.make_graph([helper.make_node("Reshape", ["images", "shape"], ["output"])], "pixels", [images],
                              [output], [numpy_helper.from_array(np.array([B, 512, 6]), "shape")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_frame_input_model_crops_the_apps_tiles_in_the_graph(tmp_path: Path) -> None:
    from app.tiled.contract import FRAME_TILES_KEY
    from app.tiled.geometry import slice_boxes
    from app.tiled.onnx_meta import read_onnx_io
    from app.tiled.prepare_onnx import prepare_model

    path = tmp_path / "frame.onnx"
    onnx.save(prepare_model(_pixels_model(), frame=(56, 32)), path)  # 56x32 at tile 32, overlap 0.2: 2 tiles
    engine = OpenCVEngine(path, expected_batch=B)
    assert (engine.spec.frame_input, engine.spec.input_shape) == (True, (1, 32, 56, 3)), f"spec {engine.spec}"
    tiles = slice_boxes(56, 32, 32, 0.2)
    assert read_onnx_io(path).metadata[FRAME_TILES_KEY] == "0,0,32,32;24,0,56,32", "the crops must be recorded"
    assert [list(t) for t in engine.spec.frame_tiles] == tiles.tolist(), f"recorded {engine.spec.frame_tiles}"
    frame = np.random.default_rng(3).integers(0, 256, (32, 56, 3), np.uint8)
    found = engine.infer(frame[None], tiles)
    sliced = np.stack([frame[y0:y1, x0:x1] for x0, y0, x1, y1 in tiles.tolist()])
    expected = (sliced[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255)).reshape(B, 512, 6)
    assert np.array_equal(found, expected), (
        f"max difference {np.abs(found - expected).max()} from the host's slicing and conversion of the same tiles")


@pytest.mark.parametrize(("frame", "model", "message"), [
    ((88, 60), _pixels_model, r"frame 88x60 at tile 32 and overlap 0.2 makes 12 tiles, the model's batch is 2; "
                              r"expected them equal: export the model with batch 12"),
    ((30, 40), _pixels_model, r"frame 30x40 is smaller than the tile 32x32"),
    ((64, 64), lambda: _model([("output", np.zeros((B, N, 6)))], input_dims=[B, 3, 32, 48]),
     r"a frame input needs a square model input \(the tile\), found 32x48"),
], ids=["batch-mismatch", "smaller-than-a-tile", "non-square"])
def test_a_frame_it_cannot_crop_is_refused_saying_expected_and_found(frame: tuple[int, int], model: Callable[[], Any],
                                                                     message: str) -> None:
    from app.tiled.prepare_onnx import prepare_model

    with pytest.raises(EngineLayoutError, match=message):
        prepare_model(model(), frame=frame)


def test_cli_frame_size_must_be_width_x_height(tmp_path: Path) -> None:
    source = tmp_path / "pixels.onnx"
    onnx.save(_pixels_model(), source)
    target = tmp_path / "frame.onnx"
    result = subprocess.run([sys.executable, "-m", "app.tiled.prepare_onnx", str(source), str(target), "--frame",
                             "1920by1080"], cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "frame size '1920by1080': expected WIDTHxHEIGHT" in result.stderr, (
        f"exit {result.returncode}: {result.stderr[-300:]}")
    assert not target.exists(), "nothing may be written on a usage error"
    result = subprocess.run([sys.executable, "-m", "app.tiled.prepare_onnx", str(source), str(target), "--frame",
                             "56x32"], cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and target.is_file(), f"exit {result.returncode}: {result.stderr[-300:]}"
