"""BuildKit builds: find a BuildKit-capable client, build with plain progress, read which steps were CACHED.

`docker buildx build` is the norm on Orin and laptops; Debian's Docker 20.10 client builds with BuildKit
itself when DOCKER_BUILDKIT=1 (the CI machines). Builds stay on the CLI: the Docker SDK has no BuildKit.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conformance.docker.engine import EngineError, _run, docker_clients

# Docker 23 made BuildKit the default and moved it into the buildx plugin; older classic clients still
# speak BuildKit themselves when DOCKER_BUILDKIT=1.
FIRST_CLIENT_NEEDING_BUILDX = 23


class ImageBuildError(RuntimeError):
    """`docker build` failed or timed out; the message carries the tail of the BuildKit log."""


@dataclass(frozen=True)
class Builder:
    """A docker client that builds with BuildKit, and how to call it."""

    kind: str  # "buildx" or "classic-buildkit"
    docker: str  # path of the docker client
    env: Mapping[str, str] = field(default_factory=dict)

    def build_argv(
        self,
        context: Path | str,
        dockerfile: Path | str,
        tag: str,
        build_args: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> list[str]:
        """The command line that builds `dockerfile` in `context` as `tag`, with plain progress output."""
        argv = [self.docker, "buildx", "build", "--load"] if self.kind == "buildx" else [self.docker, "build"]
        argv += ["--progress=plain", "-f", str(dockerfile), "-t", tag]
        for key, value in (build_args or {}).items():
            argv += ["--build-arg", f"{key}={value}"]
        return [*argv, *extra, str(context)]

    def run_env(self) -> dict[str, str]:
        """os.environ plus what this builder needs."""
        return {**os.environ, **self.env}


@dataclass(frozen=True)
class BuildStep:
    """One step of a BuildKit `--progress=plain` log."""

    vertex: int
    name: str
    cached: bool


_VERTEX_NAME = re.compile(r"^#(\d+) (\[.*)$")
_VERTEX_CACHED = re.compile(r"^#(\d+) CACHED\s*$")


def parse_buildkit_plain(log: str) -> list[BuildStep]:
    """Steps named in a BuildKit plain-progress log (`#5 [2/4] RUN ...`), each with whether it was `CACHED`."""
    names: dict[int, str] = {}
    cached: set[int] = set()
    for line in log.splitlines():
        if match := _VERTEX_NAME.match(line):
            names.setdefault(int(match[1]), match[2].strip())
        elif match := _VERTEX_CACHED.match(line):
            cached.add(int(match[1]))
    return [BuildStep(vertex, name, vertex in cached) for vertex, name in sorted(names.items())]


def _client_major(docker: str) -> int | None:
    result = _run([docker, "version", "--format", "{{.Client.Version}}"], timeout=20)
    match = re.match(r"(\d+)\.", result.stdout.strip())
    return int(match[1]) if match else None


def detect_builder() -> Builder:
    """The first client that builds with BuildKit: buildx where installed, else a classic client (< 23)."""
    clients = docker_clients()
    if not clients:
        raise EngineError("no docker client found: install docker.io (Debian) or Docker Engine with buildx")
    for docker in clients:
        if _run([docker, "buildx", "version"], timeout=20).returncode == 0:
            return Builder("buildx", docker)
    for docker in clients:
        major = _client_major(docker)
        if major is not None and major < FIRST_CLIENT_NEEDING_BUILDX:
            return Builder("classic-buildkit", docker, {"DOCKER_BUILDKIT": "1"})
    raise EngineError(
        f"no BuildKit-capable builder: clients {', '.join(clients)} have no buildx plugin and are too new "
        "for DOCKER_BUILDKIT=1; install the buildx plugin or Debian's docker.io (/usr/bin/docker 20.10)")


@dataclass(frozen=True)
class BuildResult:
    """A finished build: its tag, wall time, BuildKit steps and the log file it wrote."""

    tag: str
    seconds: float
    steps: tuple[BuildStep, ...]
    log_path: Path

    def step(self, marker: str) -> BuildStep:
        """The (last-stage) step whose text contains marker."""
        matches = [s for s in self.steps if marker in s.name]
        if not matches:
            raise ImageBuildError(f"no build step of {self.tag} contains '{marker}'; steps: "
                              + "; ".join(s.name[:80] for s in self.steps))
        return matches[-1]


def build_image(builder: Builder, dockerfile: Path, tag: str, build_args: Mapping[str, str],
                log_path: Path, context: Path, network: str = "default",
                timeout_s: float = 3600, no_cache: bool = False) -> BuildResult:
    """Build dockerfile in context as tag with plain progress, saving the BuildKit log to log_path."""
    extra = [f"--network={network}"]
    if no_cache:
        extra.append("--no-cache")
    argv = builder.build_argv(context, dockerfile, tag, build_args, extra)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                                env=builder.run_env(), check=False)
    except subprocess.TimeoutExpired as exc:
        raise ImageBuildError(f"building {tag} from {dockerfile} took over {timeout_s:.0f} s") from exc
    seconds = time.monotonic() - start
    log = result.stdout + result.stderr
    log_path.write_text(f"$ {' '.join(argv)}\n{log}")
    if result.returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-25:])
        raise ImageBuildError(f"building {tag} from {dockerfile} failed (exit {result.returncode}); "
                              f"full log {log_path}:\n{tail}")
    return BuildResult(tag, seconds, tuple(parse_buildkit_plain(log)), log_path)
