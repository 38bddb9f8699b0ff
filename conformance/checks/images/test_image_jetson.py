"""On an Orin only: the jetson images see the GPU through the nvidia runtime (seed 000 "Jetson-Specific
Wheels", seed 001 "Challenge 4"; REFERENCE.md: `--runtime nvidia`, never `--gpus`, on Jetson).
Run there with `pytest -m jetson conformance` (the image variant defaults to jetson on a Jetson)."""

from __future__ import annotations

import json

import pytest

from conformance.docker.images import BuiltImage
from conformance.docker.containers import run_once

pytestmark = [pytest.mark.docker, pytest.mark.jetson]

NVIDIA_ENV = {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility,video"}
TORCH_CUDA = ("import json, torch; print(json.dumps({'version': torch.__version__, "
              "'cuda': torch.cuda.is_available()}))")


def test_torch_in_image_uses_cuda_on_orin(built_image: BuiltImage) -> None:
    if not built_image.spec.has_torch:
        pytest.skip(f"{built_image.name} carries no torch by design (variants.yaml has_torch: false)")
    result = run_once(built_image.tag, ["python3", "-c", TORCH_CUDA], runtime="nvidia", environment=NVIDIA_ENV)
    assert result.returncode == 0, (f"torch does not import under the nvidia runtime in {built_image.tag}: "
                                    f"{result.stderr.strip()[-500:]} (REFERENCE.md Jetson error strings)")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["cuda"] and "+cpu" not in found["version"], (
        f"PyTorch {found['version']} with CUDA available: {found['cuda']} in {built_image.tag}; expected the "
        "Jetson CUDA wheel with a GPU; fix: pin TORCH_WHEEL_URL to the Jetson wheel and keep resolvers off "
        "torch (--no-deps) (seed 000 'Jetson-Specific Wheels')")


def test_tensorrt_imports_on_orin(built_image: BuiltImage) -> None:
    if "tensorrt" not in built_image.spec.native_modules:
        pytest.skip(f"{built_image.name} does not use TensorRT (variants.yaml native_modules)")
    code = "import tensorrt; print(tensorrt.__version__)"
    result = run_once(built_image.tag, ["python3", "-c", code], runtime="nvidia", environment=NVIDIA_ENV)
    assert result.returncode == 0, (
        f"`import tensorrt` fails under the nvidia runtime in {built_image.tag}: {result.stderr.strip()[-500:]}; "
        "expected the l4t-tensorrt base's TensorRT 10 (seed 001 'Key Decisions')")
