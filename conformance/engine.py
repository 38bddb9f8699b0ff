"""Docker engine control: find a BuildKit-capable builder, and bootstrap a local engine where none runs.

The bootstrap is for machines that have only a Docker client (CI, the project's VMs): it installs Debian's
engine, starts the daemon and makes the stand-in base images once (REFERENCE.md, "Running a real Docker
engine"). It runs only when asked (`python -m conformance engine up`), never implicitly from the suite.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from conformance import FIXTURES_DIR

STAND_IN_SPEC = FIXTURES_DIR / "engine" / "stand_in_bases.yaml"
BASE_SPEC_LABEL = "org.orin-kit.base-spec"
DAEMON_LOG = Path("/var/log/orin-kit-dockerd.log")
# Docker 23 made BuildKit the default and moved it into the buildx plugin; older classic clients still
# speak BuildKit themselves when DOCKER_BUILDKIT=1 (REFERENCE.md, step 3).
FIRST_CLIENT_NEEDING_BUILDX = 23


class EngineError(RuntimeError):
    """The engine or builder cannot do what was asked; the message says what to install or run."""


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


# --- bootstrap -----------------------------------------------------------------------------------------

def _require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise EngineError(f"{action} needs root (it installs packages or starts dockerd); rerun with sudo")


def install_packages(packages: Sequence[str]) -> None:
    """apt-get install what is missing."""
    missing = [p for p in packages if _run(["dpkg", "-s", p]).returncode != 0]
    if not missing:
        return
    _require_root(f"installing {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        result = _run(argv, timeout=900, env=env)
        if result.returncode != 0:
            raise EngineError(f"`{' '.join(argv)}` failed: {result.stderr.strip()[-500:]}")


def start_daemon(timeout_s: float = 90) -> None:
    """Start dockerd on the default socket in the background and wait until it answers."""
    if engine_problem() is None:
        return
    _require_root("starting dockerd")
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


@dataclass(frozen=True)
class BaseSpec:
    tag: str
    packages: tuple[str, ...]
    parent: str | None
    digest: str


def load_base_specs(path: Path = STAND_IN_SPEC) -> tuple[str, str, list[BaseSpec]]:
    """(suite, mirror, bases) of the stand-in base file; each base carries a digest of its own spec."""
    try:
        data = yaml.safe_load(path.read_text())
        suite, mirror = str(data["suite"]), str(data["mirror"])
        specs = []
        for entry in data["bases"]:
            packages = tuple(str(p) for p in entry["packages"])
            parent = entry.get("from")
            digest = hashlib.sha256(repr((suite, mirror, packages, parent)).encode()).hexdigest()[:16]
            specs.append(BaseSpec(str(entry["tag"]), packages, parent, digest))
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        raise EngineError(f"{path}: expected 'suite', 'mirror' and 'bases' (each with 'tag' and 'packages'), "
                          f"but reading it failed: {type(error).__name__}: {error}") from None
    return suite, mirror, specs


def image_label(docker: str, tag: str, label: str) -> str | None:
    result = _run([docker, "image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', tag])
    return result.stdout.strip() if result.returncode == 0 else None


_IMPORT_CHANGES = ('ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                   "ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]')


def _debootstrap_base(docker: str, suite: str, mirror: str, spec: BaseSpec, progress: bool) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise EngineError("debootstrap not found: run `python -m conformance engine up --install`")
    with tempfile.TemporaryDirectory(prefix="orin-kit-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        argv = [debootstrap, "--variant=minbase", f"--include={','.join(spec.packages)}", suite, str(rootfs),
                mirror]
        result = subprocess.run(argv, capture_output=not progress, text=True, timeout=1800, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip()[-400:] if not progress else "see output above"
            raise EngineError(f"debootstrap of {spec.tag} failed (exit {result.returncode}): {detail}")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        changes = [f"LABEL {BASE_SPEC_LABEL}={spec.digest}", *_IMPORT_CHANGES]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        argv = [docker, "import", *(arg for c in changes for arg in ("--change", c)), "-", spec.tag]
        imported = subprocess.run(argv, stdin=tar.stdout, capture_output=True, text=True, check=False)
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise EngineError(f"docker import of {spec.tag} failed: {imported.stderr.strip()[-400:]}")


def _derived_base(docker: str, spec: BaseSpec) -> None:
    """Parent image plus packages, installed over http inside a container (REFERENCE.md step 5) and committed."""
    assert spec.parent is not None
    name = f"orin-kit-base-{spec.digest}"
    _run([docker, "rm", "-f", name])
    script = ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
              + " ".join(spec.packages) + " && rm -rf /var/lib/apt/lists/*")
    result = _run([docker, "run", "--name", name, spec.parent, "sh", "-c", script], timeout=1800)
    if result.returncode != 0:
        _run([docker, "rm", "-f", name])
        raise EngineError(f"installing {' '.join(spec.packages)} into {spec.tag} failed: "
                          f"{result.stderr.strip()[-400:]}")
    changes = [f"LABEL {BASE_SPEC_LABEL}={spec.digest}", *_IMPORT_CHANGES]
    committed = _run([docker, "commit", *(a for c in changes for a in ("--change", c)), name, spec.tag])
    _run([docker, "rm", "-f", name])
    if committed.returncode != 0:
        raise EngineError(f"docker commit of {spec.tag} failed: {committed.stderr.strip()}")


def ensure_stand_in_bases(progress: bool = True, say=print) -> list[str]:
    """Build the stand-in bases whose tag is missing or whose spec changed; return all their tags."""
    docker = docker_clients()[0] if docker_clients() else None
    if docker is None or (problem := engine_problem(docker)):
        raise EngineError(problem or "no docker client")
    suite, mirror, specs = load_base_specs()
    for spec in specs:
        if image_label(docker, spec.tag, BASE_SPEC_LABEL) == spec.digest:
            say(f"stand-in base {spec.tag}: present (spec {spec.digest})")
            continue
        started = time.monotonic()
        say(f"stand-in base {spec.tag}: building ({'from ' + spec.parent if spec.parent else 'debootstrap'}) ...")
        if spec.parent:
            _derived_base(docker, spec)
        else:
            _require_root("debootstrap")
            _debootstrap_base(docker, suite, mirror, spec, progress)
        say(f"stand-in base {spec.tag}: built in {time.monotonic() - started:.0f} s")
    return [spec.tag for spec in specs]


def engine_up(install: bool, bases: bool = True, say=print) -> None:
    """Idempotently: install the engine (if allowed), start it, build the stand-in bases."""
    if install:
        install_packages(["docker.io", "debootstrap"])
    elif not shutil.which("dockerd") and engine_problem() is not None:
        raise EngineError("no engine running and dockerd is not installed: rerun with --install (root)")
    start_daemon()
    builder = detect_builder()
    say(f"engine: answering; builder: {builder.kind} via {builder.docker}")
    if bases:
        ensure_stand_in_bases(say=say)


def docker_info(docker: str | None = None) -> dict[str, object]:
    """`docker info` as JSON (the engine's runtimes, default runtime, version)."""
    import json

    client = docker or (docker_clients() or ["docker"])[0]
    result = _run([client, "info", "--format", "{{json .}}"], timeout=30)
    if result.returncode != 0:
        raise EngineError(f"`docker info` failed: {result.stderr.strip()[:300]}")
    info = json.loads(result.stdout)
    if not isinstance(info, dict):
        raise EngineError(f"`docker info` printed {type(info).__name__}, expected a JSON object")
    return info
