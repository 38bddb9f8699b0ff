"""The Orin's engine gives containers the GPU: the nvidia runtime is registered and is the default (the GPU during
`docker build`, seed 003), and its CSV mount specs name the GPU nodes and the driver.

Facts: `docker info` and /etc/nvidia-container-runtime/ on an Orin, or the recording's (SIMULATED).
Verdicts: conformance/device/verdicts/host.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.config.devices import DeviceCriteria
from conformance.device.verdicts import Judge
from conformance.device.verdicts import host

pytestmark = pytest.mark.jetson

MountSpecs = dict[str, tuple[tuple[str, str], ...] | None]


def test_nvidia_runtime_is_registered(docker_info_facts: dict[str, Any], device_criteria: DeviceCriteria,
                                      judge: Judge) -> None:
    v = judge(lambda: host.runtime_registered(docker_info_facts, device_criteria.runtime))
    assert v.passed, v.message


def test_nvidia_is_the_default_runtime(docker_info_facts: dict[str, Any], device_criteria: DeviceCriteria,
                                       judge: Judge) -> None:
    v = judge(lambda: host.runtime_is_default(docker_info_facts, device_criteria.runtime))
    assert v.passed, v.message


def test_csv_mount_specs_name_the_gpu_nodes(mount_specs: MountSpecs, device_criteria: DeviceCriteria,
                                            judge: Judge) -> None:
    v = judge(lambda: host.mount_specs(mount_specs, device_criteria.runtime))
    assert v.passed, v.message
