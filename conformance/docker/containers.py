"""Containers of the images under test, through the Docker SDK for Python: run, exec, logs, health, stop.

A `Container` is a context manager that removes its container (and anonymous volumes) on exit; `run_once`
runs one command to completion and returns its exit code, stdout and stderr apart, as a CLI run would.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker as docker_sdk
    from docker.models.containers import Container as SdkContainer


#: Process names of the init programs images run as PID 1 (they forward signals to the service).
INITS = frozenset({"tini", "dumb-init", "docker-init", "s6-svscan", "catatonit"})


class ContainerError(RuntimeError):
    """A container could not be created, started or inspected; the message says which and why."""


@lru_cache(maxsize=1)
def client() -> docker_sdk.DockerClient:
    """The engine at DOCKER_HOST (the API version negotiated with it)."""
    import docker

    try:
        return docker.from_env(version="auto", timeout=300)
    except docker.errors.DockerException as error:
        raise ContainerError(f"cannot reach the Docker engine: {error}; start one with "
                             "`python -m conformance engine up` (root)") from None


@dataclass(frozen=True)
class Completed:
    """A finished command: exit code, stdout and stderr (decoded, replacement for bad bytes)."""

    returncode: int
    stdout: str
    stderr: str


def _mounts(volumes: Mapping[str, str], anonymous: Sequence[str]) -> list[Any]:
    from docker.types import Mount

    mounts = []
    for source, spec in volumes.items():
        target, _, mode = spec.partition(":")
        mounts.append(Mount(target=target, source=source, type="bind", read_only=mode == "ro"))
    mounts += [Mount(target=target, source=None, type="volume") for target in anonymous]
    return mounts


#: runtime -> why this session may not start a container with it (a SIMULATED run never uses the nvidia runtime)
_FORBIDDEN_RUNTIMES: dict[str, str] = {}


def forbid_runtime(name: str, reason: str) -> None:
    """Refuse, for the rest of the process, to start containers with runtime `name` (ContainerError saying why)."""
    _FORBIDDEN_RUNTIMES[name] = reason


def _create_kwargs(command: Sequence[str] | None, volumes: Mapping[str, str], anonymous_volumes: Sequence[str],
                   network: str | None, runtime: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    if runtime is not None and runtime in _FORBIDDEN_RUNTIMES:
        raise ContainerError(f"refusing to start a container with --runtime {runtime}: {_FORBIDDEN_RUNTIMES[runtime]}")
    kwargs: dict[str, Any] = {"mounts": _mounts(volumes, anonymous_volumes), **extra}
    if command is not None:
        kwargs["command"] = list(command)
    if network is not None:
        kwargs["network_mode"] = network
    if runtime is not None:
        kwargs["runtime"] = runtime
    return kwargs


class Container:
    """A detached container of an image, removed with its anonymous volumes on exit.

    ``volumes`` maps host paths to ``"/target"`` or ``"/target:ro"``; ``anonymous_volumes`` are fresh
    volumes (as compose would mount); ``extra`` goes to the SDK's ``containers.create`` as is.
    """

    def __init__(self, tag: str, command: Sequence[str] | None = None, *, volumes: Mapping[str, str] = {},
                 anonymous_volumes: Sequence[str] = (), network: str | None = "none", runtime: str | None = None,
                 **extra: Any) -> None:
        self.tag = tag
        self._kwargs = _create_kwargs(command, volumes, anonymous_volumes, network, runtime, extra)
        self._container: SdkContainer | None = None

    @property
    def id(self) -> str:
        return self._sdk.id or ""

    @property
    def _sdk(self) -> SdkContainer:
        if self._container is None:
            raise ContainerError(f"container of {self.tag} used outside its `with` block")
        return self._container

    def __enter__(self) -> Container:
        import docker

        try:
            self._container = client().containers.run(self.tag, detach=True, **self._kwargs)
        except docker.errors.DockerException as error:
            raise ContainerError(f"`docker run {self.tag}` failed: {error}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        import docker

        if self._container is not None:
            try:
                self._container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass

    def exec(self, *argv: str, user: str | None = None) -> Completed:
        """Run argv in the container; stdout and stderr kept apart (bounded by the client's 300 s timeout)."""
        import docker

        try:
            result = self._sdk.exec_run(list(argv), user=user or "", demux=True)
        except docker.errors.DockerException as error:
            raise ContainerError(f"`docker exec {self.tag} {shlex.join(argv)}` failed: {error}") from None
        out, err = result.output if result.output else (b"", b"")
        return Completed(int(result.exit_code or 0), (out or b"").decode(errors="replace"),
                         (err or b"").decode(errors="replace"))

    def inspect(self) -> dict[str, Any]:
        self._sdk.reload()
        return dict(self._sdk.attrs)

    def logs(self) -> str:
        return bytes(self._sdk.logs(stdout=True, stderr=True)).decode(errors="replace")

    def health(self) -> str:
        """The HEALTHCHECK status (starting, healthy, unhealthy), 'none' without one, or 'exited (code N)'."""
        state = self.inspect()["State"]
        if not state.get("Running"):
            return f"exited (code {state.get('ExitCode')})"
        return str((state.get("Health") or {}).get("Status", "none"))

    def wait_health(self, timeout_s: float, want: Sequence[str] = ("healthy", "unhealthy")) -> str:
        """Poll the health status until it is one of `want`, the container exits, or timeout_s passes."""
        deadline = time.monotonic() + timeout_s
        status = self.health()
        while status in ("starting", "none") or status not in want:
            if status.startswith("exited") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
            status = self.health()
        return status

    def stop_seconds(self, grace_s: int = 10) -> float:
        """Wall time of `docker stop` with a grace of grace_s seconds."""
        start = time.monotonic()
        self._sdk.stop(timeout=grace_s)
        return time.monotonic() - start

    def freeze_service(self) -> str:
        """SIGSTOP every process of the container but an init at PID 1 (tini): the service stops answering while
        the container keeps running. A service that is PID 1 itself is stopped from outside (the engine's
        signal reaches a namespace's init, one sent from inside does not). Returns PID 1's name."""
        script = ('for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" = 1 ] || [ "$p" = "$$" ] || '
                  'kill -STOP "$p" 2>/dev/null; done; cat /proc/1/comm')
        pid1 = self.exec("sh", "-c", script, user="0").stdout.strip()
        if pid1 not in INITS:
            self._sdk.kill(signal="SIGSTOP")
        return pid1

    def kill_main_process(self) -> None:
        """SIGKILL the container's main process (what a crash looks like to the restart policy)."""
        self._sdk.kill(signal="SIGKILL")


def run_once(tag: str, command: Sequence[str], *, volumes: Mapping[str, str] = {},
             anonymous_volumes: Sequence[str] = (), network: str | None = "none", runtime: str | None = None,
             timeout: float = 300, **extra: Any) -> Completed:
    """Run command in a fresh container of tag to completion (no network by default), then remove it."""
    import docker
    import requests

    kwargs = _create_kwargs(command, volumes, anonymous_volumes, network, runtime, extra)
    try:
        container = client().containers.create(tag, **kwargs)
    except docker.errors.DockerException as error:
        raise ContainerError(f"`docker run {tag}` failed: {error}") from None
    try:
        container.start()
        try:
            code = int(container.wait(timeout=timeout)["StatusCode"])
        except requests.exceptions.ConnectionError:  # the SDK's read timeout
            container.kill()
            code = 124
        out = bytes(container.logs(stdout=True, stderr=False)).decode(errors="replace")
        err = bytes(container.logs(stdout=False, stderr=True)).decode(errors="replace")
        if code == 124:
            err += f"\n(killed after {timeout:.0f} s)"
        return Completed(code, out, err)
    except docker.errors.DockerException as error:
        raise ContainerError(f"`docker run {tag} {' '.join(command)}` failed: {error}") from None
    finally:
        container.remove(force=True, v=True)
