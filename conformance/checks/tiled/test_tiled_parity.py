"""Engine parity: the CPU engine and every other available engine agree on the same batch (issue 4).

The batch is 8 real tiles of a synthetic 1080p frame through the app's preprocessing. Peers:
``torch-reference`` (the detector's own torch definition with the project's weights,
``--tiled-reference-weights``; needs the dev extra) and ``tensorrt`` (a TensorRT engine of the same model, ``--tiled-trt-engine``; GPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from app.tiled.engines import OpenCVEngine
from app.tiled.geometry import slice_boxes
from app.tiled.preprocess import BatchPreprocessor
from conformance.builders.scenes import motion_scene

FIX = ("fix: rebuild the engine from the same model (`make tiled-assets`; on the device, rebuild the TensorRT "
       "engine from the same ONNX); source: issue 4 'engine parity'")


def _torch_reference(batch: np.ndarray, weights: Path) -> np.ndarray:
    torch = pytest.importorskip("torch", reason="the torch reference needs torch==2.13.0 (the dev extra)")
    from conformance.builders.tiny_detector import load_weights

    if not weights.is_file():
        pytest.fail(f"reference weights {weights} are missing; expected them next to the ONNX (`make tiled-assets`)")
    model = load_weights(weights, input_size=batch.shape[-1])
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(batch, np.float32))).numpy()


def _tensorrt(engine: Path | None) -> Callable[[np.ndarray], np.ndarray]:
    if engine is None:
        pytest.skip("no TensorRT engine given: pass --tiled-trt-engine PATH (built from the same ONNX)")
    from app.tiled.tensorrt_engine import TensorRTEngine

    trt = TensorRTEngine(engine)
    tiles = np.full((trt.spec.batch_size, 4), -1, np.int32)
    return lambda batch: trt.infer(batch, tiles)


PEERS = [pytest.param("torch-reference", id="torch-reference"),
         pytest.param("tensorrt", id="tensorrt", marks=pytest.mark.gpu)]


@pytest.mark.parametrize("peer", PEERS)
def test_cpu_engine_agrees_with_peer_on_one_batch(peer: str, tiled_onnx: Path, tiled_trt_engine: Path | None,
                                                  tiled_reference_weights: Path,
                                                  tiled_criteria: dict[str, Any], record_property: Any) -> None:
    crit = tiled_criteria["parity"]
    cpu = OpenCVEngine(tiled_onnx)
    scene = motion_scene(1920, 1080, 1)
    frame = scene.render(0)
    tiles = slice_boxes(1920, 1080)[: cpu.spec.batch_size]
    pre = BatchPreprocessor(cpu.spec.batch_size, cpu.spec.input_hw)
    pre.fill(frame, tiles)
    ours = cpu.infer(pre.batch, tiles)
    theirs = _torch_reference(pre.batch, tiled_reference_weights) if peer == "torch-reference" else _tensorrt(tiled_trt_engine)(pre.batch)
    assert theirs.shape == ours.shape, f"{peer}: output shape {theirs.shape}, CPU engine {ours.shape}; {FIX}"
    box_err = float(np.abs(theirs[..., :4] - ours[..., :4]).max())
    score_err = float(np.abs(theirs[..., 4] - ours[..., 4]).max())
    class_agree = float((theirs[..., 5] == ours[..., 5]).mean())
    record_property(f"{peer}_box_err_px", box_err)
    record_property(f"{peer}_score_err", score_err)
    found = (f"{tiled_onnx.name} vs {peer} on 8 tiles x {ours.shape[1]} anchors: max box error {box_err:.4g} px, "
             f"max score error {score_err:.3g}, classes agree on {class_agree:.4%}")
    assert box_err <= crit["box_atol_px"], f"{found}; expected box error <= {crit['box_atol_px']} px; {FIX}"
    assert score_err <= crit["score_atol"], f"{found}; expected score error <= {crit['score_atol']}; {FIX}"
    assert class_agree >= crit["class_agreement_min"], (
        f"{found}; expected classes to agree on >= {crit['class_agreement_min']:.2%}; {FIX}")
