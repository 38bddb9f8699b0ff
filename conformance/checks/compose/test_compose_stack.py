"""The stack run for real with `docker compose up` on the images under test: each long-running service healthy
within its start period and each batch run done with its output written; the whole stack ready within the
profile's deployment budget; models and videos refuse writes from inside while output, logs and cache take
them from the non-root user; log rotation and shm size as the engine applied them; a killed service and a
failed batch run restarted by their policies; `docker compose down` leaving nothing behind (seeds 001, 004).

Checks run in file order on one stack; the restart checks leave it as they found it and the `down` check
comes last (a check after it brings the stack up again)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from conformance.config.images import ComposeCriteria
from conformance.config.profiles import Profile
from conformance.docker.compose import PROJECT_LABEL, anonymous_volumes
from conformance.docker.containers import client
from conformance.docker.stack import OUTPUT, VIDEO, health_timing, kill_main_process, readiness, wait_bound_s, \
    write_probe

if TYPE_CHECKING:
    from .conftest import Stack

RecordProperty = Callable[[str, object], None]  # pytest's record_property fixture

pytestmark = pytest.mark.docker


def _mounts(stack: Stack, service: str, read_only: bool, roots: tuple[str, ...] = ()) -> list[str]:
    attrs = stack.project.container(service).attrs
    return [str(m["Destination"]) for m in attrs.get("Mounts") or [] if bool(m.get("RW")) != read_only
            and (not roots or any(m["Destination"] == r or str(m["Destination"]).startswith(r + "/") for r in roots))]


def test_service_becomes_healthy_within_its_start_period(long_running_service: str, stack: Stack,
                                                         record_property: RecordProperty) -> None:
    stack.require_up()
    found = stack.ready[long_running_service]
    start_period = health_timing(stack.project.container(long_running_service).attrs)["StartPeriod"]
    seconds = found.start_to_ready_s()
    record_property(f"{long_running_service}_start_to_healthy_s", None if seconds is None else round(seconds, 2))
    assert found.ready and seconds is not None and seconds <= start_period, (
        f"service {long_running_service} is {found.state}" + (f" {seconds:.1f} s after it started" if seconds else "")
        + f"; expected healthy within its start period ({start_period:.0f} s); fix: the HEALTHCHECK must probe "
        "the service (GET /health) and the service must start within the start period (seed 001 P1 'Health "
        "check monitors critical components')")


def test_batch_run_completes_and_writes_its_output(batch_service: str, stack: Stack) -> None:
    stack.require_up()
    found = stack.ready[batch_service]
    out = stack.inputs.output_dir / OUTPUT
    size = out.stat().st_size if out.is_file() else 0
    logs = stack.project.run("logs", "--no-color", "--tail", "5", batch_service).stdout.strip()[-400:]
    assert found.ready and size > 0 and out.stat().st_uid != 0, (
        f"batch service {batch_service} is {found.state} and wrote {size} bytes to {out}"
        + (f" as uid {out.stat().st_uid}" if size else "") + "; expected exit 0 and the annotated video on the "
        f"host, written by the image's non-root user; last log lines: {logs!r} (seed 001 P0 'Output video is "
        "saved to host filesystem')")


def test_stack_is_ready_within_the_deployment_budget(stack: Stack, profile: Profile,
                                                     record_property: RecordProperty) -> None:
    stack.require_up()
    seconds = stack.deployment_s()
    limit = profile.thresholds.deployment_s_max
    record_property("compose_up_to_ready_s", None if seconds is None else round(seconds, 2))
    for key, value in stack.timings.items():
        record_property(f"stack_{key}", round(value, 2))
    states = {name: r.state for name, r in stack.ready.items()}
    assert seconds is not None and seconds <= limit, (
        f"the stack was ready {'never' if seconds is None else f'{seconds:.1f} s'} after `docker compose up` "
        f"({states}); expected every service healthy or done within {limit:g} s (profile {profile.name}); fix: "
        "keep startup work out of the service's start (MODEL_PRELOAD=0) and the images local (seed 001 "
        "'Deployment Time < 2 min from image to running container')")


def test_model_and_video_mounts_refuse_writes_from_inside(service: str, stack: Stack,
                                                          compose_criteria: ComposeCriteria) -> None:
    stack.require_up()
    roots = compose_criteria.read_only_targets
    writable = _mounts(stack, service, read_only=False, roots=roots)
    targets = _mounts(stack, service, read_only=True, roots=roots)
    probe = write_probe(stack.project, service, [*targets, *writable])
    wrong = {t: probe[t] for t in [*targets, *writable] if probe[t] != "EROFS"}
    assert not wrong, (
        f"service {service}: writes from inside to {wrong} (the engine reports {writable or 'none'} read-write); "
        "expected every mount under " + ", ".join(roots) + " to refuse writes with EROFS; fix: mount them `:ro` "
        "(seed 001 'Volume Mount Strategy': read-only for models/videos)")


def test_output_log_and_cache_mounts_writable_by_the_app_user(service: str, stack: Stack) -> None:
    stack.require_up()
    targets = _mounts(stack, service, read_only=False)
    probe = write_probe(stack.project, service, targets)
    refused = {t: probe[t] for t in targets if probe[t] != "written"}
    assert probe["uid"] != 0 and not refused, (
        f"service {service} runs as uid {probe['uid']} and its read-write mounts refuse writes: {refused or 'none'}; "
        "expected the image's non-root user to write every read-write mount; fix: mount named volumes only where "
        "the image made the directory writable (/cache, /output, /logs), no `user: root` (seed 004 'Volume "
        "Permissions Matter')")


def test_engine_applies_log_rotation_shm_size_and_restart_policy(service: str, stack: Stack,
                                                                 compose_criteria: ComposeCriteria) -> None:
    stack.require_up()
    host = stack.project.container(service).attrs["HostConfig"]
    want = compose_criteria.services[service]
    log = host.get("LogConfig") or {}
    found = {"driver": log.get("Type"), **{k: (log.get("Config") or {}).get(k) for k in ("max-size", "max-file")}}
    expected = compose_criteria.logging.model_dump(by_alias=True)
    shm_mb = int(host.get("ShmSize") or 0) / 2**20
    policy = (host.get("RestartPolicy") or {}).get("Name")
    problems = [f"logging {found} (expected {expected})"] if found != expected else []
    problems += [f"ShmSize {shm_mb:.0f} MB (expected >= {want.shm_size_min_mb} MB)"] \
        if shm_mb < want.shm_size_min_mb else []
    problems += [f"RestartPolicy {policy!r} (expected {want.restart!r})"] if policy != want.restart else []
    assert not problems, (
        f"`docker inspect` of service {service}: {'; '.join(problems)}; fix: set `logging`, `shm_size` and "
        "`restart` on the service (seed 001 'Logging: JSON file (10MB max, 3 files)', 'Challenge 5', "
        "'Restart: unless-stopped')")


def test_service_restarts_healthy_after_its_main_process_is_killed(long_running_service: str, stack: Stack,
                                                                   record_property: RecordProperty) -> None:
    stack.require_up()
    container = stack.project.container(long_running_service)
    before = int(container.attrs.get("RestartCount") or 0)
    killed_at = time.time()
    killed = kill_main_process(container)
    deadline = time.monotonic() + wait_bound_s(container.attrs) + 60
    while True:
        container.reload()
        found = readiness(long_running_service, "service", container.attrs)
        restarted = int(container.attrs.get("RestartCount") or 0) > before
        policy = container.attrs["HostConfig"]["RestartPolicy"].get("Name") or "no"
        fresh = restarted and (found.started_at or 0) > killed_at
        stopped_for_good = not restarted and policy == "no" and container.attrs["State"]["Status"] == "exited"
        if (fresh and found.settled) or stopped_for_good or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if found.ready and fresh and found.ready_at:
        record_property(f"{long_running_service}_kill_to_healthy_s", round(found.ready_at - killed_at, 2))
    assert fresh and found.ready, (
        f"after SIGKILL of {killed!r} in service {long_running_service}, restart policy {policy!r}: "
        f"{'restarted' if restarted else 'not restarted'}, now {found.state}; expected the engine to restart it "
        "and the restarted service healthy; fix: `restart: unless-stopped` (seed 001 'Auto-restart on failure')")


def test_failed_batch_run_is_restarted_until_it_succeeds(batch_service: str, stack: Stack,
                                                         compose_criteria: ComposeCriteria) -> None:
    stack.require_up()
    video = stack.inputs.videos_dir / VIDEO
    held = video.with_name(VIDEO + ".held")
    (stack.inputs.output_dir / OUTPUT).unlink(missing_ok=True)
    video.rename(held)  # the next run fails: its input is missing (exit 3)
    state, restarts, policy = {"Status": "not started", "ExitCode": None}, 0, "?"
    try:
        started = stack.project.run("start", batch_service)
        container = stack.project.container(batch_service)
        deadline = time.monotonic() + compose_criteria.batch_wait_s
        while started.returncode == 0 and time.monotonic() < deadline:
            container.reload()
            state, restarts = container.attrs["State"], int(container.attrs.get("RestartCount") or 0)
            policy = container.attrs["HostConfig"]["RestartPolicy"].get("Name") or "no"
            if restarts and held.exists():
                held.rename(video)  # it failed and was restarted: let the next run succeed
            if state["Status"] == "exited" and (state["ExitCode"] == 0 or (policy == "no" and held.exists())):
                break
            time.sleep(0.3)
    finally:
        if held.exists():
            held.rename(video)
    out = stack.inputs.output_dir / OUTPUT
    assert started.returncode == 0 and restarts > 0 and state["ExitCode"] == 0 and out.is_file(), (
        f"batch service {batch_service} (restart policy {policy!r}) failed its run and was restarted {restarts} "
        f"time(s); now {state['Status']} (exit {state['ExitCode']}), output {'written' if out.is_file() else 'missing'}"
        f"{'; ' + started.stderr.strip()[-200:] if started.returncode else ''}; expected a failed run restarted "
        "until one exits 0; fix: `restart: on-failure` (seed 001 P1 'Container restarts automatically on failure')")


def test_compose_down_leaves_no_container_or_anonymous_volume(stack: Stack) -> None:
    import docker

    stack.require_up()
    volumes = {v for c in stack.project.containers() for v in anonymous_volumes(c.attrs)}
    stack.leaked_volumes.update(volumes)
    result = stack.project.down()  # as a user runs it: named volumes are kept on purpose, no -v
    stack.is_down = True
    left = [c.name for c in client().containers.list(all=True, filters={"label": f"{PROJECT_LABEL}="
                                                                                   f"{stack.project.name}"})]
    for name in sorted(volumes):
        try:
            client().volumes.get(name)
            left.append(f"anonymous volume {name[:12]}")
        except docker.errors.NotFound:
            pass
    left += [f"network {n.name}" for n in client().networks.list(names=[f"{stack.project.name}_default"])]
    assert result.returncode == 0 and not left, (
        f"`docker compose down` exited {result.returncode} and left {left or 'nothing'}; expected no container, "
        "network or anonymous volume of the project (anonymous volumes pile up on every redeploy); fix: give "
        "every volume a name under `volumes:` (seed 001 'Volume Mount Strategy': named or host mounts)")
