"""The compose files: the base runs both services on CPU anywhere, the Jetson override adds the nvidia
runtime; models and videos read-only, output and logs read-write; shm_size, restart policy and json-file log
rotation 10 MB x 3 (seed 001 "Phase 2", "Volume Mount Strategy"; seed 004 "GPU override").

Checked on the files themselves (no `docker compose` here): values read as compose reads them, the override
merged over the base service by service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conformance.config import read_yaml
from conformance.config.images import load_compose_criteria

SERVICES = ["gliner2", "yolo-tiled"]


def _criteria() -> dict[str, Any]:
    return load_compose_criteria().model_dump(by_alias=True)


def _services(images_dir: Path, name: str) -> dict[str, Any]:
    path = images_dir / name
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        pytest.fail(f"{path}: expected a compose file with a `services` mapping", pytrace=False)
    return dict(data["services"])


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


@pytest.mark.parametrize("service", SERVICES, ids=SERVICES)
def test_base_compose_runs_on_cpu_without_gpu_settings(service: str, images_dir: Path) -> None:
    spec = _services(images_dir, _criteria()["base"]).get(service)
    assert spec is not None, f"compose.yaml has no service {service}; expected both services in the base file"
    gpu = [key for key in ("runtime", "deploy", "devices") if key in spec]
    gpu += [k for k in _environment(spec) if k.startswith(("NVIDIA_", "CUDA_VISIBLE"))]
    assert not gpu, (f"compose.yaml service {service} sets {gpu}, expected no GPU settings in the base file; fix: "
                     "move them to compose.jetson.yaml (seed 004 'GPU Should Be Optional')")


@pytest.mark.parametrize("service", SERVICES, ids=SERVICES)
def test_jetson_override_enables_nvidia_runtime(service: str, images_dir: Path) -> None:
    criteria = _criteria()
    spec = _services(images_dir, criteria["jetson_override"]).get(service) or {}
    want = criteria["jetson"]
    env = _environment(spec)
    missing = [f"runtime: {want['runtime']}"] if spec.get("runtime") != want["runtime"] else []
    missing += [f"{k}={v}" for k, v in want["environment"].items() if env.get(k) != v]
    assert not missing, (f"compose.jetson.yaml service {service} lacks {missing}; fix: add them (seed 001 "
                         "'Challenge 4: GPU Access'; REFERENCE.md: on Jetson use the nvidia runtime, not --gpus)")


@pytest.mark.parametrize("service", SERVICES, ids=SERVICES)
def test_data_mounts_read_only_and_outputs_read_write(service: str, images_dir: Path) -> None:
    criteria = _criteria()
    spec = _services(images_dir, criteria["base"])[service]
    wrong = []
    for volume in spec.get("volumes") or []:
        # ${VAR:-default} may hold colons: blank variables out before splitting SOURCE:TARGET[:MODE].
        parts = re.sub(r"\$\{[^}]*\}", "VAR", str(volume)).split(":")
        target, mode = parts[1], (parts[2] if len(parts) > 2 else "")
        if any(target == t or target.startswith(t + "/") for t in criteria["read_only_targets"]) and mode != "ro":
            wrong.append(f"{volume} (expected :ro)")
        if any(target == t or target.startswith(t + "/") for t in criteria["read_write_targets"]) and mode == "ro":
            wrong.append(f"{volume} (expected read-write)")
    assert not wrong, (f"compose.yaml service {service} mounts {wrong}; models and videos read-only, output, logs "
                       "and cache read-write (seed 001 'Volume Mount Strategy')")


@pytest.mark.parametrize("service", SERVICES, ids=SERVICES)
def test_logs_rotate_and_runtime_limits_set(service: str, images_dir: Path) -> None:
    criteria = _criteria()
    spec = _services(images_dir, criteria["base"])[service]
    logging = spec.get("logging") or {}
    options = {str(k): str(v) for k, v in (logging.get("options") or {}).items()}
    want = criteria["logging"]
    found = {"driver": logging.get("driver"), **{k: options.get(k) for k in ("max-size", "max-file")}}
    missing = [key for key in criteria["required_keys"] if key not in spec]
    assert found == want and not missing, (
        f"compose.yaml service {service}: logging {found}, missing {missing}; expected logging {want} and "
        f"{criteria['required_keys']} set (seed 001 'Logging: JSON file (10MB max, 3 files)', 'Challenge 5')")
