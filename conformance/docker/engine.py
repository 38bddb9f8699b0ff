"""Docker engine control: which docker clients exist, whether an engine answers, starting one, `docker info`.

For machines that have only a Docker client (CI, the project's VMs), `python -m conformance engine up`
installs Debian's engine and starts the daemon (`conformance.docker.bootstrap`); the suite itself only
runs the read-only probes here (`engine_problem`, `docker_info`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

DAEMON_LOG = Path("/var/log/orin-kit-dockerd.log")


class EngineError(RuntimeError):
    """The engine or builder cannot do what was asked; the message says what to install or run."""


def _run(argv: Sequence[str], timeout: float = 60, env: Mapping[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          env=dict(env) if env is not None else None, check=False)


def docker_clients() -> list[str]:
    """Docker clients on this machine, PATH's first, then Debian's at /usr/bin/docker."""
    found: list[str] = []
    for candidate in (shutil.which("docker"), "/usr/bin/docker"):
        if candidate and os.access(candidate, os.X_OK) and os.path.realpath(candidate) not in map(
                os.path.realpath, found):
            found.append(candidate)
    return found


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def engine_problem(docker: str | None = None) -> str | None:
    """Why no engine answers at DOCKER_HOST, or None when one does."""
    clients = [docker] if docker else docker_clients()
    if not clients:
        return "no docker client on PATH: install docker.io, or run `python -m conformance engine up --install`"
    try:
        result = _run([clients[0], "info", "--format", "{{.ServerVersion}}"], timeout=20)
    except subprocess.TimeoutExpired:
        return f"`docker info` timed out after 20 s at {docker_host()}"
    if result.returncode != 0 or not result.stdout.strip():
        where = docker_host()
        first_line = (result.stderr.strip().splitlines() or ["no answer"])[0]
        return (f"no Docker engine answers at {where} ({first_line}); start one with "
                "`sudo .venv/bin/python -m conformance engine up`")
    return None


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise EngineError(f"{action} needs root (it installs packages or starts dockerd); rerun with sudo")


def install_packages(packages: Sequence[str]) -> None:
    """apt-get install what is missing."""
    missing = [p for p in packages if _run(["dpkg", "-s", p]).returncode != 0]
    if not missing:
        return
    require_root(f"installing {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        result = _run(argv, timeout=900, env=env)
        if result.returncode != 0:
            raise EngineError(f"`{' '.join(argv)}` failed: {result.stderr.strip()[-500:]}")


def start_daemon(timeout_s: float = 90) -> None:
    """Start dockerd on the default socket in the background and wait until it answers."""
    if engine_problem() is None:
        return
    require_root("starting dockerd")
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise EngineError("dockerd not found: run `python -m conformance engine up --install` (installs docker.io)")
    DAEMON_LOG.parent.mkdir(parents=True, exist_ok=True)
    with DAEMON_LOG.open("ab") as log:
        subprocess.Popen([dockerd, "--host=unix:///var/run/docker.sock"], stdout=log, stderr=log,
                         start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if engine_problem() is None:
            return
        time.sleep(1)
    tail = DAEMON_LOG.read_text(errors="replace").strip().splitlines()[-5:]
    raise EngineError(f"dockerd did not answer within {timeout_s:.0f} s; last log lines: {' | '.join(tail)}")


def docker_info(docker: str | None = None) -> dict[str, object]:
    """`docker info` as JSON (the engine's runtimes, default runtime, version)."""
    client = docker or (docker_clients() or ["docker"])[0]
    result = _run([client, "info", "--format", "{{json .}}"], timeout=30)
    if result.returncode != 0:
        raise EngineError(f"`docker info` failed: {result.stderr.strip()[:300]}")
    info = json.loads(result.stdout)
    if not isinstance(info, dict):
        raise EngineError(f"`docker info` printed {type(info).__name__}, expected a JSON object")
    return info
