"""Engine parity: the CPU engine and every other available engine agree on the same batch (issues 4, 15).

The batch is 8 real tiles of a synthetic 1080p frame, sliced by the app into its uint8 batch. Peers:
``float-model`` (the float export the engine's ONNX was prepared from, fed by the host conversion the
prepared graph replaced: moving the conversion into the model must change no result, so bit-identical;
``--tiled-float-onnx``), ``torch-reference`` (the detector's own torch definition with the project's
weights, ``--tiled-reference-weights``; needs the dev extra) and ``tensorrt`` (a TensorRT engine built from
the same prepared ONNX, taking the same uint8 batch, ``--tiled-trt-engine``; GPU).

A model prepared for whole frames (``prepare_onnx --frame``, ``--tiled-frame-onnx``) crops the tiles in its
graph; on the same frame it must give exactly what the tile-input model gives on the tiles the app slices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
import pytest

# The tiled area needs the tiled extra; without it the area skips, saying so, instead of failing collection.
pytest.importorskip("cv2", reason="the tiled checks need OpenCV: pip install 'orin-conformance-kit[tiled]'")
pytest.importorskip("scipy", reason="the tiled checks need scipy: pip install 'orin-conformance-kit[tiled]'")

from app.tiled.engines import OpenCVEngine
from app.tiled.geometry import slice_boxes
from app.tiled.slicing import BatchSlicer
from conformance.builders.scenes import motion_scene
from conformance.config.tiled import TiledCriteria
from conformance.tiled.assets import float_onnx_of

FIX = ("fix: rebuild the engine from the same model (`make tiled-assets`; on the device, rebuild the TensorRT "
       "engine from the same prepared ONNX); source: issue 4 'engine parity', issue 15")


def host_conversion(batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """What the host did before the conversion moved into the model: BGR->RGB, NHWC->NCHW, x (1/255) in float32."""
    out = np.empty((batch.shape[0], 3, *batch.shape[1:3]), np.float32)
    np.multiply(batch[..., ::-1].transpose(0, 3, 1, 2), np.float32(1.0 / 255.0), out=out, casting="unsafe")
    return out


def _float_model(batch: npt.NDArray[np.uint8], model: Path) -> npt.NDArray[np.float32]:
    import cv2

    if not model.is_file():
        pytest.fail(f"float export {model} is missing; expected it beside the prepared ONNX (`make tiled-assets`) "
                    "or given with --tiled-float-onnx")
    net = cv2.dnn.readNetFromONNX(str(model))
    net.setInput(host_conversion(batch))
    return np.asarray(net.forward(), np.float32)


def _torch_reference(batch: npt.NDArray[np.uint8], weights: Path) -> npt.NDArray[np.float32]:
    torch = pytest.importorskip("torch", reason="the torch reference needs torch==2.13.0 (the dev extra)")
    from conformance.builders.tiny_detector import load_weights

    if not weights.is_file():
        pytest.fail(f"reference weights {weights} are missing; expected them next to the ONNX (`make tiled-assets`)")
    model = load_weights(weights, input_size=batch.shape[1])
    with torch.no_grad():
        return np.asarray(model(torch.from_numpy(host_conversion(batch))).numpy(), np.float32)


def _tensorrt(engine: Path | None) -> Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.float32]]:
    if engine is None:
        pytest.skip("no TensorRT engine given: pass --tiled-trt-engine PATH (built from the same prepared ONNX)")
    from app.tiled.tensorrt_engine import TensorRTEngine

    trt = TensorRTEngine(engine)
    tiles = np.full((trt.spec.batch_size, 4), -1, np.int32)
    return lambda batch: trt.infer(batch, tiles).copy()


PEERS = [pytest.param("float-model", id="float-model"), pytest.param("torch-reference", id="torch-reference"),
         pytest.param("tensorrt", id="tensorrt", marks=pytest.mark.gpu)]


@pytest.mark.parametrize("peer", PEERS)
def test_cpu_engine_agrees_with_peer_on_one_batch(peer: str, tiled_onnx: Path, tiled_float_onnx: Path,
                                                  tiled_trt_engine: Path | None, tiled_reference_weights: Path,
                                                  tiled_criteria: TiledCriteria, record_property: Any) -> None:
    crit = tiled_criteria.parity
    cpu = OpenCVEngine(tiled_onnx)
    frame = motion_scene(1920, 1080, 1).render(0)
    tiles = slice_boxes(1920, 1080)[: cpu.spec.batch_size]
    slicer = BatchSlicer(cpu.spec.batch_size, cpu.spec.input_hw)
    slicer.fill(frame, tiles)
    ours = cpu.infer(slicer.batch, tiles).copy()
    if peer == "float-model":
        theirs = _float_model(slicer.batch, tiled_float_onnx)
    elif peer == "torch-reference":
        theirs = _torch_reference(slicer.batch, tiled_reference_weights)
    else:
        theirs = _tensorrt(tiled_trt_engine)(slicer.batch)
    assert theirs.shape == ours.shape, f"{peer}: output shape {theirs.shape}, CPU engine {ours.shape}; {FIX}"
    box_err = float(np.abs(theirs[..., :4] - ours[..., :4]).max())
    score_err = float(np.abs(theirs[..., 4] - ours[..., 4]).max())
    class_agree = float((theirs[..., 5] == ours[..., 5]).mean())
    record_property(f"{peer}_box_err_px", box_err)
    record_property(f"{peer}_score_err", score_err)
    found = (f"{tiled_onnx.name} vs {peer} on 8 tiles x {ours.shape[1]} anchors: max box error {box_err:.4g} px, "
             f"max score error {score_err:.3g}, classes agree on {class_agree:.4%}")
    if peer == "float-model":
        diff = float(np.abs(theirs - ours).max())
        assert diff <= crit.float_model_max_abs_diff, (
            f"{found}; expected results identical to the float model on the host-converted batch (max difference "
            f"<= {crit.float_model_max_abs_diff}): the graph's Cast, Transpose, Gather and Mul must do exactly what "
            f"the host did; fix: prepare the float export with `python -m app.tiled.prepare_onnx`; {FIX}")
        return
    assert box_err <= crit.box_atol_px, f"{found}; expected box error <= {crit.box_atol_px} px; {FIX}"
    assert score_err <= crit.score_atol, f"{found}; expected score error <= {crit.score_atol}; {FIX}"
    assert class_agree >= crit.class_agreement_min, (
        f"{found}; expected classes to agree on >= {crit.class_agreement_min:.2%}; {FIX}")


def test_frame_input_model_crops_the_tiles_the_app_slices(tiled_onnx: Path, tiled_frame_onnx: Path,
                                                          tiled_criteria: TiledCriteria, record_property: Any) -> None:
    crit = tiled_criteria.parity
    width, height = crit.frame_model_size
    tile_input, frame_input = OpenCVEngine(tiled_onnx), OpenCVEngine(tiled_frame_onnx)
    assert frame_input.spec.frame_input and frame_input.spec.input_hw == (height, width), (
        f"{tiled_frame_onnx.name}: input {list(frame_input.spec.input_shape)}; expected one whole {width}x{height} "
        f"frame [1,{height},{width},3] uint8; fix: prepare it with `python -m app.tiled.prepare_onnx "
        f"{float_onnx_of(tiled_onnx).name} OUT.onnx --frame {width}x{height}`; {FIX}")
    frame = motion_scene(width, height, 1).render(0)
    tiles = slice_boxes(width, height, tile_input.spec.input_hw[0])
    slicer = BatchSlicer(tile_input.spec.batch_size, tile_input.spec.input_hw)
    slicer.fill(frame, tiles)
    sliced = tile_input.infer(slicer.batch, tiles).copy()
    cropped = frame_input.infer(np.ascontiguousarray(frame[None]), tiles)
    diff = float(np.abs(cropped - sliced).max()) if cropped.shape == sliced.shape else float("inf")
    record_property("frame_model_max_abs_diff", diff)
    crops = [list(t) for t in frame_input.spec.frame_tiles] or "not recorded"
    assert diff <= crit.frame_model_max_abs_diff, (
        f"{tiled_frame_onnx.name} on one {width}x{height} frame: output {list(cropped.shape)} differs from "
        f"{tiled_onnx.name} on the app's {len(tiles)} sliced tiles by up to {diff:.4g} (model's crops {crops}, "
        f"app's tiles {tiles.tolist()}); expected identical results (max difference <= "
        f"{crit.frame_model_max_abs_diff}): the graph must crop exactly the app's tiles; fix: prepare the model "
        f"with the app's tile and overlap (prepare_onnx --frame WxH --overlap); {FIX}")
