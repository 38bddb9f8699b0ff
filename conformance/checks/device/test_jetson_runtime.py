"""The engine on the Orin can give containers the GPU: the nvidia runtime is registered (REFERENCE.md).

Live on an Orin it asks the engine (`docker info`); with --device-root it reads the recording's
`docker-info.json` (SIMULATED).
"""

from __future__ import annotations

import json

import pytest

from conformance.docker.engine import EngineError, docker_info as read_docker_info
from conformance.device.facts import DeviceInfo

pytestmark = pytest.mark.jetson

DOCKER_INFO_RECORDING = "docker-info.json"


@pytest.fixture(scope="module")
def docker_info(device: DeviceInfo, request: pytest.FixtureRequest) -> dict[str, object]:
    recorded = device.root / DOCKER_INFO_RECORDING
    if str(device.root) != "/":
        if not recorded.exists():
            pytest.skip(f"the recording {device.root} has no {DOCKER_INFO_RECORDING}")
        info = json.loads(recorded.read_text())
        return info if isinstance(info, dict) else {}
    request.getfixturevalue("docker_builder")  # skips, saying what to start, where no engine answers
    return read_docker_info()


def test_nvidia_runtime_is_registered(docker_info: dict[str, object]) -> None:
    runtimes = docker_info.get("Runtimes")
    names = sorted(runtimes) if isinstance(runtimes, dict) else []
    assert "nvidia" in names, (
        f"the engine knows runtimes {names}, not 'nvidia', so `--runtime nvidia` fails with 'unknown or invalid "
        "runtime name: nvidia' and containers see no GPU; expected nvidia-container-runtime registered; fix: "
        "`sudo apt install nvidia-container-toolkit && sudo nvidia-ctk runtime configure --runtime=docker && "
        "sudo systemctl restart docker` (REFERENCE.md, Jetson facts)")
