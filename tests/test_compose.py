"""The compose helpers on their own: finding Compose v2 (and saying what to install), the project's command
line, and reading readiness from recorded `docker inspect` attrs (no engine needed)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.docker import compose
from conformance.docker.compose import INSTALL_HINT, ComposeError, Project, anonymous_volumes, find_compose
from conformance.docker.stack import StackInputs, health_timing, inputs_root, readiness, timestamp, wait_bound_s

T0 = "2026-11-29T15:08:25.660078619Z"


@pytest.fixture
def no_cached_compose() -> Iterator[None]:
    find_compose.cache_clear()
    yield
    find_compose.cache_clear()


def _fake(tmp_path: Path, name: str, version_line: str, code: int = 0) -> tuple[str, ...]:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho '{version_line}'\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return (str(path),)


def test_compose_v2_is_found_in_the_docker_extra() -> None:
    argv = find_compose()
    version = compose.compose_version(argv)
    assert isinstance(version, tuple) and version[0] >= 2, f"{argv} answers {version}, expected Compose v2 or later"


def test_missing_compose_names_what_to_install(monkeypatch: pytest.MonkeyPatch, no_cached_compose: None) -> None:
    monkeypatch.setattr(compose, "_candidates", lambda: [])
    with pytest.raises(ComposeError) as error:
        find_compose()
    assert "no Docker Compose v2 found" in str(error.value) and INSTALL_HINT in str(error.value)


def test_compose_v1_is_refused_with_its_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                no_cached_compose: None) -> None:
    v1 = _fake(tmp_path, "docker-compose", "1.29.2")
    broken = _fake(tmp_path, "docker", "oops", code=1)
    monkeypatch.setattr(compose, "_candidates", lambda: [v1, broken])
    with pytest.raises(ComposeError, match=r"is Compose 1\.29\.2 \(v1\).*answers no version.*install it"):
        find_compose()


def test_first_compose_v2_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_cached_compose: None) -> None:
    v1, v2 = _fake(tmp_path, "old", "1.29.2"), _fake(tmp_path, "new", "v2.29.7")
    monkeypatch.setattr(compose, "_candidates", lambda: [v1, v2])
    assert find_compose() == v2


def test_project_command_line_names_project_and_files_in_order() -> None:
    project = Project("p", (Path("/a/compose.yaml"), Path("/a/compose.jetson.yaml")), {}, ("docker", "compose"))
    assert project.argv("config") == ["docker", "compose", "--project-name", "p", "--file", "/a/compose.yaml",
                                      "--file", "/a/compose.jetson.yaml", "config"]


def test_stack_variables_point_compose_at_the_inputs_and_images() -> None:
    env = StackInputs(Path("/s"), {"GLINER2_IMAGE": "g:1"}, 9000, "m.onnx").env()
    assert env["GLINER2_IMAGE"] == "g:1" and env["MODELS_DIR"] == "/s/models" and env["OUTPUT_DIR"] == "/s/output"
    assert env["GLINER2_PORT"] == "9000" and env["ENGINE"] == "m.onnx" and env["VIDEO"] == "short.mp4"


def test_stack_inputs_leave_a_checkout_that_other_users_cannot_enter(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The images run as a non-root user, who must reach every bind source: a checkout under a private
    directory (a home of mode 0700, ``mktemp -d``) lays the stack's inputs out under the system's temp dir."""
    import tempfile

    private = tmp_path / "private"
    (private / "checkout" / "build").mkdir(parents=True)
    private.chmod(0o700)
    monkeypatch.setenv("ORIN_KIT_BUILD_DIR", str(private / "checkout" / "build"))
    moved = inputs_root("p1")
    assert private not in moved.parents and Path(tempfile.gettempdir()) in moved.parents, (
        f"inputs of a checkout under a 0700 directory laid out at {moved}; expected under the temp dir")
    assert all(p.stat().st_mode & stat.S_IXOTH for p in moved.parents if p.exists()), f"{moved} is not reachable"
    open_dir = Path(tempfile.mkdtemp())  # pytest's own tmp_path sits under a 0700 directory
    try:
        open_dir.chmod(0o755)
        monkeypatch.setenv("ORIN_KIT_BUILD_DIR", str(open_dir))
        assert inputs_root("p1") == open_dir / "compose" / "p1", "a work dir others can enter must be used"
    finally:
        open_dir.rmdir()


def test_docker_timestamps_keep_microseconds_and_zero_time_is_none() -> None:
    assert timestamp(T0) == pytest.approx(1795964905.660078)
    assert timestamp("0001-01-01T00:00:00Z") is None and timestamp(None) is None


def _attrs(status: str = "running", health: dict[str, Any] | None = None, code: int = 0, restarts: int = 0,
           policy: str = "unless-stopped", finished: str = "2026-11-29T15:08:40Z") -> dict[str, Any]:
    state: dict[str, Any] = {"Status": status, "ExitCode": code, "StartedAt": T0, "FinishedAt": finished}
    if health is not None:
        state["Health"] = health
    return {"State": state, "RestartCount": restarts, "HostConfig": {"RestartPolicy": {"Name": policy}},
            "Config": {"Healthcheck": {"Interval": 5_000_000_000, "Timeout": 5_000_000_000,
                                       "StartPeriod": 30_000_000_000, "Retries": 3}}}


def _probe(start: str, end: str, code: int = 0) -> dict[str, Any]:
    return {"Start": start, "End": end, "ExitCode": code, "Output": "unhealthy: refused" if code else ""}


def test_healthy_service_is_ready_at_its_first_passing_probe_of_this_start() -> None:
    log = [_probe("2026-11-29T15:00:00Z", "2026-11-29T15:00:01Z"),  # before a restart: ignored
           _probe("2026-11-29T15:08:30Z", "2026-11-29T15:08:31Z", 1),
           _probe("2026-11-29T15:08:35Z", "2026-11-29T15:08:36.5Z")]
    found = readiness("gliner2", "service", _attrs(health={"Status": "healthy", "Log": log}))
    assert found.settled and found.ready and found.start_to_ready_s() == pytest.approx(10.84, abs=0.01)


@pytest.mark.parametrize("attrs, state", [
    (_attrs(health={"Status": "unhealthy", "FailingStreak": 3, "Log": [_probe(T0, T0, 1)]}), "unhealthy after 3"),
    (_attrs(), "running without a HEALTHCHECK"),
    (_attrs("exited", code=137, policy="no"), "exited (exit 137) after 0 restart(s) under restart policy 'no'"),
    (_attrs("restarting", code=1, restarts=3), "restarting (exit 1) after 3 restart(s)"),
], ids=["unhealthy", "no-healthcheck", "exited-no-restart", "crash-looping"])
def test_service_that_cannot_become_ready_is_settled_not_ready(attrs: dict[str, Any], state: str) -> None:
    found = readiness("gliner2", "service", attrs)
    assert found.settled and not found.ready and state in found.state, found


@pytest.mark.parametrize("attrs", [_attrs(health={"Status": "starting"}), _attrs("restarting", code=137, restarts=1),
                                   _attrs("created")], ids=["starting", "restarting-once", "created"])
def test_service_on_its_way_is_not_settled(attrs: dict[str, Any]) -> None:
    assert not readiness("gliner2", "service", attrs).settled


def test_batch_run_is_ready_when_it_exited_0_and_failing_when_restarts_run_out() -> None:
    done = readiness("yolo-tiled", "batch", _attrs("exited", policy="on-failure"))
    assert done.ready and done.ready_at == timestamp("2026-11-29T15:08:40Z")
    failing = readiness("yolo-tiled", "batch", _attrs("exited", code=4, restarts=3, policy="on-failure"))
    assert failing.settled and not failing.ready
    retrying = readiness("yolo-tiled", "batch", _attrs("exited", code=4, restarts=1, policy="on-failure"))
    assert not retrying.settled
    capped = _attrs("exited", code=4, restarts=1, policy="on-failure")
    capped["HostConfig"]["RestartPolicy"]["MaximumRetryCount"] = 1  # on-failure:1 will not try again
    assert readiness("yolo-tiled", "batch", capped).settled


def test_wait_bound_covers_start_period_and_every_retry_twice() -> None:
    assert health_timing(_attrs()) == {"Interval": 5.0, "Timeout": 5.0, "StartPeriod": 30.0, "Retries": 3.0}
    assert wait_bound_s(_attrs()) == 2 * (30 + 4 * 10) + 60
    assert health_timing({"Config": {}})["Interval"] == 30.0  # Docker's default


def test_only_engine_named_volumes_are_anonymous() -> None:
    mounts = [{"Type": "volume", "Name": "a" * 64}, {"Type": "volume", "Name": "proj_gliner2-cache"},
              {"Type": "bind", "Source": "/x"}]
    assert anonymous_volumes({"Mounts": mounts}) == ["a" * 64]
