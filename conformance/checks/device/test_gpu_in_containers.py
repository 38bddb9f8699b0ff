"""The GPU inside each image under `--runtime nvidia`: device nodes visible, libcuda (and libnvinfer in the YOLO
image) resolved through the container's linker cache, no copies of what the runtime mounts, torch running a cuDNN
convolution on the GPU with the base image's CUDA, TensorRT 10 deserialising the mounted engine with the layout
the app expects.

Facts: conformance/device/probes/gpu_probe.py run inside the built image on an Orin; replayed from the recording
with --simulate-device (SIMULATED); run for real without the nvidia runtime with --live-image-probes (CI: the
generic images have no GPU, and the verdicts must say so). Verdicts: conformance/device/verdicts/images.py.
"""

from __future__ import annotations

import pytest

from conformance.config.devices import DeviceCriteria, ImageNeeds
from conformance.config.probes import GpuProbe
from conformance.device.verdicts import Judge
from conformance.device.verdicts import images

pytestmark = pytest.mark.jetson


def _needs(criteria: DeviceCriteria, image_name: str) -> ImageNeeds:
    needs = criteria.images.get(image_name)
    if needs is None:
        pytest.fail(f"fixtures/devices/criteria.yaml: images: no entry for {image_name}; expected what the image "
                    "needs of the GPU (libraries, torch, tensorrt)", pytrace=False)
    return needs


def test_gpu_device_nodes_are_visible_in_the_image(gpu_facts: GpuProbe, device_criteria: DeviceCriteria,
                                                   judge: Judge) -> None:
    v = judge(lambda: images.nodes_in_image(gpu_facts, device_criteria.runtime))
    assert v.passed, v.message


def test_cuda_libraries_resolve_through_the_linker_cache(gpu_facts: GpuProbe, image_name: str,
                                                         device_criteria: DeviceCriteria, judge: Judge) -> None:
    v = judge(lambda: images.libraries_resolve(gpu_facts, _needs(device_criteria, image_name)))
    assert v.passed, v.message


def test_image_carries_no_libraries_the_runtime_mounts(gpu_facts: GpuProbe, judge: Judge) -> None:
    v = judge(lambda: images.no_own_copies(gpu_facts))
    assert v.passed, v.message


def test_torch_runs_a_convolution_on_the_gpu(gpu_facts: GpuProbe, image_name: str, device_criteria: DeviceCriteria,
                                             judge: Judge) -> None:
    v = judge(lambda: images.torch_on_gpu(gpu_facts, _needs(device_criteria, image_name)))
    assert v.passed, v.message


def test_torch_cuda_matches_the_base_image(gpu_facts: GpuProbe, image_name: str, device_criteria: DeviceCriteria,
                                           judge: Judge) -> None:
    v = judge(lambda: images.torch_cuda_matches_base(gpu_facts, _needs(device_criteria, image_name),
                                                     device_criteria.made_for))
    assert v.passed, v.message


def test_tensorrt_is_the_version_the_images_are_made_for(gpu_facts: GpuProbe, image_name: str,
                                                         device_criteria: DeviceCriteria, judge: Judge) -> None:
    v = judge(lambda: images.tensorrt_version(gpu_facts, _needs(device_criteria, image_name),
                                              device_criteria.made_for))
    assert v.passed, v.message


def test_tensorrt_deserialises_the_engine_with_the_app_layout(gpu_facts: GpuProbe, image_name: str,
                                                             device_criteria: DeviceCriteria, judge: Judge) -> None:
    v = judge(lambda: images.engine_layout(gpu_facts, _needs(device_criteria, image_name), device_criteria.engine))
    assert v.passed, v.message
