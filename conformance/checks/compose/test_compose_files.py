"""The compose files as Docker Compose v2 reads them (`docker compose config`: files merged, variables filled
in, short syntax expanded): the base runs both services on CPU anywhere and the Jetson override adds the
nvidia runtime and the GPU nodes; models and videos read-only, output, logs and cache read-write; json-file
log rotation, shm size and restart policy declared; the images come from the variables the kit sets; the
services run as their image's non-root user (seeds 001, 003, 004). No engine needed, only the binary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from conformance.config.images import ComposeCriteria

if TYPE_CHECKING:
    from .conftest import ComposeModels

ROOT_USERS = ("root", "0")


def _spec(models: ComposeModels, which: str, service: str) -> dict[str, Any]:
    spec = models.services(which).get(service)
    if not isinstance(spec, dict):
        pytest.fail(f"the {which} compose model has no service {service}; expected both services in "
                    f"{', '.join(p.name for p in models.files[which])} (seed 001 'Phase 2')", pytrace=False)
    return spec


def _environment(spec: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (spec.get("environment") or {}).items()}


def _gpu_requests(spec: dict[str, Any]) -> list[str]:
    """The desktop ways of asking for a GPU: `gpus`, and device reservations under `deploy`."""
    found = ["gpus"] if spec.get("gpus") else []
    reservations = ((spec.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    found += [f"deploy.resources.reservations.devices {d}" for d in reservations.get("devices") or []]
    return found


def _under(target: str, roots: tuple[str, ...]) -> bool:
    return any(target == root or target.startswith(root + "/") for root in roots)


def test_base_file_runs_on_cpu_without_gpu_settings(service: str, compose_models: ComposeModels,
                                                    compose_criteria: ComposeCriteria) -> None:
    spec = _spec(compose_models, "base", service)
    found = [f"runtime: {spec['runtime']}"] if spec.get("runtime") else []
    found += _gpu_requests(spec)
    found += [f"device {d.get('source')}" for d in spec.get("devices") or []
              if str(d.get("source", "")).startswith(compose_criteria.gpu_device_prefix)]
    found += [f"{k}={v}" for k, v in _environment(spec).items() if k in compose_criteria.gpu_environment]
    assert not found, (f"{compose_criteria.base} service {service} sets {found}, expected no GPU settings in the "
                       f"base file, so that it runs on any CPU host; fix: move them to "
                       f"{compose_criteria.jetson_override} (seed 004 'GPU Should Be Optional')")


def test_jetson_override_gives_nvidia_runtime_and_gpu_devices(service: str, compose_models: ComposeModels,
                                                              compose_criteria: ComposeCriteria) -> None:
    spec = _spec(compose_models, "jetson", service)
    want = compose_criteria.jetson
    env = _environment(spec)
    devices = {str(d.get("source")) for d in spec.get("devices") or []}
    missing = [f"runtime: {want.runtime}"] if spec.get("runtime") != want.runtime else []
    missing += [f"{k}={v}" for k, v in want.environment.items() if env.get(k) != v]
    missing += [f"device {d}" for d in want.devices if d not in devices]
    assert not missing, (
        f"{compose_criteria.base} merged with {compose_criteria.jetson_override}: service {service} lacks "
        f"{missing}; fix: add them to the override (seed 001 'Challenge 4: GPU Access'; seed 003: the NVIDIA "
        "container runtime brings the GPU and CUDA libraries)")


def test_jetson_override_does_not_ask_for_gpus_the_desktop_way(service: str, compose_models: ComposeModels,
                                                               compose_criteria: ComposeCriteria) -> None:
    found = _gpu_requests(_spec(compose_models, "jetson", service))
    assert not found, (
        f"{compose_criteria.jetson_override} gives service {service} {found}, expected `runtime: nvidia` only: "
        "on Jetson a GPU request fails with 'invoking the NVIDIA Container Runtime Hook directly ... Please use "
        "the NVIDIA Container Runtime'; fix: drop it (seed 004's desktop GPU override is not the Jetson way; "
        "seed 003)")


def test_data_mounts_read_only_and_outputs_read_write(service: str, compose_models: ComposeModels,
                                                      compose_criteria: ComposeCriteria) -> None:
    wrong = []
    for which in ("base", "jetson"):
        for volume in _spec(compose_models, which, service).get("volumes") or []:
            target, read_only = str(volume.get("target")), bool(volume.get("read_only"))
            if _under(target, compose_criteria.read_only_targets) and not read_only:
                wrong.append(f"{which}: {volume.get('source')}:{target} (expected :ro)")
            if _under(target, compose_criteria.read_write_targets) and read_only:
                wrong.append(f"{which}: {volume.get('source')}:{target} (expected read-write)")
    assert not wrong, (f"service {service} mounts {wrong}; expected models and videos read-only, output, logs and "
                       "cache read-write (seed 001 'Volume Mount Strategy')")


def test_log_rotation_shm_size_and_restart_policy_declared(service: str, compose_models: ComposeModels,
                                                           compose_criteria: ComposeCriteria) -> None:
    spec = _spec(compose_models, "base", service)
    want = compose_criteria.services[service]
    logging = spec.get("logging") or {}
    options = {str(k): str(v) for k, v in (logging.get("options") or {}).items()}
    found = {"driver": logging.get("driver"), "max-size": options.get("max-size"),
             "max-file": options.get("max-file")}
    expected = compose_criteria.logging.model_dump(by_alias=True)
    shm_mb = int(spec.get("shm_size") or 0) / 2**20
    problems = [f"logging {found} (expected {expected})"] if found != expected else []
    problems += [f"shm_size {shm_mb:.0f} MB (expected >= {want.shm_size_min_mb} MB)"] if shm_mb < want.shm_size_min_mb \
        else []
    problems += [f"restart {spec.get('restart')!r} (expected {want.restart!r})"] \
        if spec.get("restart") != want.restart else []
    assert not problems, (
        f"{compose_criteria.base} service {service}: {'; '.join(problems)}; fix: set them on the service (seed 001 "
        "'Logging: JSON file (10MB max, 3 files)', 'Challenge 5: Shared Memory', 'Restart: unless-stopped' for "
        "services, restart on failure for batch runs)")


def test_images_come_from_the_kit_variables(service: str, compose_models: ComposeModels,
                                            compose_criteria: ComposeCriteria) -> None:
    variable = compose_criteria.services[service].image_variable
    expected = compose_models.env[variable]
    found = {which: _spec(compose_models, which, service).get("image") for which in ("base", "jetson")}
    wrong = {which: image for which, image in found.items() if image != expected}
    assert not wrong, (
        f"service {service} runs image {wrong} when {variable}={expected}; expected the image named by "
        f"${{{variable}}}, so that the kit runs exactly the images it built from the tree under test; fix: "
        f"`image: ${{{variable}:-orin-kit/{service}:generic}}`")


def test_services_run_as_the_image_user(service: str, compose_models: ComposeModels,
                                        compose_criteria: ComposeCriteria) -> None:
    users = {which: str(_spec(compose_models, which, service).get("user") or "") for which in ("base", "jetson")}
    root = {which: user for which, user in users.items() if user.split(":", 1)[0] in ROOT_USERS}
    assert not root, (
        f"service {service} runs as {root}, expected the image's own non-root user (uid 1000, no `user:` "
        "override); fix: drop `user:` and make the mounted directories writable for uid 1000 instead "
        "(seed 004 'Fixed Volume Permissions')")
