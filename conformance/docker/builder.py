"""BuildKit builds: find a BuildKit-capable client, build with plain progress, read which steps were CACHED.

`docker buildx build` is the norm on Orin and laptops; Debian's Docker 20.10 client builds with BuildKit
itself when DOCKER_BUILDKIT=1 (the CI machines). Builds stay on the CLI: the Docker SDK has no BuildKit.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conformance.device.diagnosis import diagnose, summary
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
    """One step of a BuildKit `--progress=plain` log: whether it was `CACHED`, else how long it ran."""

    vertex: int
    name: str
    cached: bool
    seconds: float | None = None  # from `#N DONE 1.2s`; None for a cached step (or a log without it)

    @property
    def is_dockerfile_step(self) -> bool:
        """A step of the Dockerfile (`[stage 3/9] RUN ...`), not BuildKit's own (`[internal] load ...`)."""
        return not self.name.startswith("[internal]")

    @property
    def instruction(self) -> str:
        """The step without its `[stage N/M]` prefix: the same text in any build of the same Dockerfile."""
        return self.name.split("] ", 1)[-1] if self.name.startswith("[") else self.name

    def summary(self, width: int = 70) -> str:
        """`4/13 RUN <command>` with the --mount flags left out: what a reader recognises in the Dockerfile."""
        position = re.search(r"(\d+/\d+)\]", self.name)
        keyword, _, rest = self.instruction.partition(" ")
        words = rest.split()
        while words and words[0].startswith("--"):
            words.pop(0)
        text = f"{position[1] + ' ' if position else ''}{keyword} {' '.join(words)}"
        return text if len(text) <= width else text[: width - 3] + "..."


_VERTEX_NAME = re.compile(r"^#(\d+) (\[.*|exporting to image)$")
#: BuildKit's last vertex: writing the image's layers (a cold build exports them all, a warm one the new ones).
EXPORT = "exporting to image"
_VERTEX_CACHED = re.compile(r"^#(\d+) CACHED\s*$")
_VERTEX_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s\s*$")


def parse_buildkit_plain(log: str) -> list[BuildStep]:
    """Steps named in a BuildKit plain-progress log (`#5 [2/4] RUN ...`), each with whether it was `CACHED`
    and, for a step that ran, its duration (`#5 DONE 21.7s`)."""
    names: dict[int, str] = {}
    cached: set[int] = set()
    seconds: dict[int, float] = {}
    for line in log.splitlines():
        if match := _VERTEX_NAME.match(line):
            names.setdefault(int(match[1]), match[2].strip())
        elif match := _VERTEX_CACHED.match(line):
            cached.add(int(match[1]))
        elif match := _VERTEX_DONE.match(line):
            seconds[int(match[1])] = float(match[2])
    return [BuildStep(vertex, name, vertex in cached, None if vertex in cached else seconds.get(vertex))
            for vertex, name in sorted(names.items())]


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
    reused: bool = False  # an image of the same build input already existed: this is its recorded build

    def rebuilt(self) -> list[BuildStep]:
        """The Dockerfile steps that ran (not CACHED), in log order; FROM only resolves its base."""
        return [s for s in self.steps if s.is_dockerfile_step and not s.cached
                and not s.instruction.startswith("FROM ")]

    def step(self, marker: str) -> BuildStep:
        """The (last-stage) step whose text contains marker."""
        matches = [s for s in self.steps if marker in s.name]
        if not matches:
            raise ImageBuildError(f"no build step of {self.tag} contains '{marker}'; steps: "
                              + "; ".join(s.name[:80] for s in self.steps))
        return matches[-1]


def build_image(builder: Builder, dockerfile: Path, tag: str, build_args: Mapping[str, str],
                log_path: Path, context: Path, network: str = "default",
                timeout_s: float = 3600, no_cache: bool = False,
                labels: Mapping[str, str] | None = None,
                echo: Callable[[str], object] | None = None) -> BuildResult:
    """Build dockerfile in context as tag with plain progress, saving the BuildKit log to log_path (and
    passing each line to echo as it comes, for a terminal)."""
    extra = [f"--network={network}"]
    if no_cache:
        extra.append("--no-cache")
    for key, value in (labels or {}).items():
        extra += ["--label", f"{key}={value}"]
    argv = builder.build_argv(context, dockerfile, tag, build_args, extra)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    returncode, log = _run_build(argv, builder.run_env(), timeout_s, echo)
    if returncode is None:
        raise ImageBuildError(f"building {tag} from {dockerfile} took over {timeout_s:.0f} s")
    seconds = time.monotonic() - start
    log_path.write_text(f"$ {' '.join(argv)}\n{log}")
    if returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-25:])
        # A known failure (a full disk, an ABI break in a RUN step) is named before the log's tail.
        known = summary(diagnose(log))
        raise ImageBuildError(f"building {tag} from {dockerfile} failed (exit {returncode}){known}; "
                              f"full log {log_path}:\n{tail}")
    return BuildResult(tag, seconds, tuple(parse_buildkit_plain(log)), log_path)


def _run_build(argv: list[str], env: Mapping[str, str], timeout_s: float,
               echo: Callable[[str], object] | None) -> tuple[int | None, str]:
    """Exit code (None on timeout) and the combined output of a build command."""
    if echo is None:
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=dict(env),
                                    check=False)
        except subprocess.TimeoutExpired:
            return None, ""
        return result.returncode, result.stdout + result.stderr
    lines: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(env)) as proc:
        deadline = time.monotonic() + timeout_s
        assert proc.stdout is not None  # PIPE above
        for line in proc.stdout:
            lines.append(line)
            echo(line.rstrip("\n"))
            if time.monotonic() > deadline:
                proc.kill()
                return None, "".join(lines)
        return proc.wait(), "".join(lines)


def rebuild_cost(cold: BuildResult, warm: BuildResult) -> tuple[float, list[tuple[BuildStep, float]]]:
    """The share of the cold build's step time that the warm build re-ran, and each re-run step with its cold
    cost, costliest first. Steps are matched by instruction text (same Dockerfile, same text): both figures
    come from one build, so the share is that build's own proportion, whatever the machine's speed or load."""
    cold_cost = {step.instruction: step.seconds or 0.0 for step in cold.rebuilt()}
    total = sum(cold_cost.values())
    # The export is the one step whose work differs between the builds (all layers, or the new ones): its own time.
    rerun = sorted(((step, step.seconds or 0.0 if step.instruction == EXPORT else
                     cold_cost.get(step.instruction, step.seconds or 0.0)) for step in warm.rebuilt()),
                   key=lambda pair: -pair[1])
    return (sum(cost for _, cost in rerun) / total if total else 0.0), rerun
