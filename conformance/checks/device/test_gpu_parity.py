"""The gpu tier (any CUDA machine, Orin included; no Docker needed): the kit's tiny detector and tiny GLiNER2 model
run on CUDA and agree with their CPU results within the stated tolerance (fixtures/devices/criteria.yaml
gpu_parity). The self-proofs compare against a model from another seed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.config.devices import DeviceCriteria
from conformance.device.parity import detector_outputs, gliner2_hidden_states, max_abs_diff

pytestmark = pytest.mark.gpu

RecordProperty = Callable[[str, object], None]


@pytest.fixture(scope="module")
def cuda_torch() -> None:
    torch = pytest.importorskip("torch", reason="the gpu tier runs the tiny models with torch")
    if not torch.cuda.is_available():
        pytest.skip(f"gpu: torch {torch.__version__} here has no CUDA (a CPU wheel); install the CUDA build of the "
                    "pinned torch on this machine")


def test_tiny_detector_on_cuda_agrees_with_cpu(cuda_torch: None, device_criteria: DeviceCriteria,
                                               pytestconfig: pytest.Config, record_property: RecordProperty) -> None:
    from conformance.tiled.assets import ensure_detector

    weights = ensure_detector().with_suffix(".pt")
    reference: Path = pytestconfig.getoption("gpu_reference_detector") or weights
    diff = max_abs_diff(detector_outputs(weights, "cuda"), detector_outputs(reference, "cpu"))
    tolerance = device_criteria.gpu_parity.detector_atol
    record_property("detector_cuda_cpu_max_abs_diff", diff)
    assert diff <= tolerance, (
        f"found the tiny detector's raw [B,N,6] outputs on CUDA ({weights.name}) differ from the CPU reference "
        f"({reference.name}) by up to {diff:.3g}; expected <= {tolerance} (FP32 both sides); fix: check the CUDA "
        f"build of torch and cuDNN on this machine ({device_criteria.gpu_parity.source})")


def test_tiny_gliner2_on_cuda_agrees_with_cpu(cuda_torch: None, device_criteria: DeviceCriteria,
                                              pytestconfig: pytest.Config, record_property: RecordProperty) -> None:
    pytest.importorskip("gliner2", reason="the tiny GLiNER2 model needs the gliner2 extra")
    from conformance.builders.gliner2_model import ensure
    from conformance.service.local import default_model

    model = ensure(default_model())
    reference: Path = pytestconfig.getoption("gpu_reference_gliner2") or model
    diff = max_abs_diff(gliner2_hidden_states(model, "cuda"), gliner2_hidden_states(reference, "cpu"))
    tolerance = device_criteria.gpu_parity.gliner2_atol
    record_property("gliner2_cuda_cpu_max_abs_diff", diff)
    assert diff <= tolerance, (
        f"found the tiny GLiNER2 encoder's hidden states on CUDA ({model}) differ from the CPU reference "
        f"({reference}) by up to {diff:.3g}; expected <= {tolerance}; fix: check the CUDA build of torch on this "
        f"machine ({device_criteria.gpu_parity.source})")
