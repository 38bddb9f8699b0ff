"""The compose stack under test: its host inputs, when each service is ready, and probes run inside it.

A long-running service is ready when its HEALTHCHECK says healthy; a batch service (one video in, one out)
when its run has exited 0. Readiness is read from the engine's own timestamps (`State.StartedAt`, the health
log, `State.FinishedAt`), so polling latency and machine load do not enter the figures; waits are bounded
generously and end as soon as the engine has decided.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance import work_dir
from conformance.docker.compose import Project

#: Host-side names of the stack's inputs and the variables of the compose files that point at them.
VIDEO, OUTPUT = "short.mp4", "short.out.mp4"
#: A restarting service that has failed this many times is failing, not starting.
MAX_RESTARTS = 3
#: Docker's HEALTHCHECK defaults (seconds) where neither the image nor compose sets one.
HEALTH_DEFAULTS = {"Interval": 30.0, "Timeout": 30.0, "StartPeriod": 0.0}

#: Run inside a service container: try to write each target; prints {"uid": N, target: "written" | errno}.
WRITE_PROBE = """
import errno, json, os, sys
out = {"uid": os.getuid()}
for target in sys.argv[1:]:
    try:
        if os.path.isdir(target):
            probe = os.path.join(target, ".orin-kit-write-probe")
            os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600))
            os.unlink(probe)
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_APPEND))
        out[target] = "written"
    except OSError as error:
        out[target] = errno.errorcode.get(error.errno, str(error.errno))
print(json.dumps(out))
"""

#: Run inside a container: SIGKILL every child of PID 1 (the app under tini), print their command lines.
KILL_MAIN = """
import json, os, signal
kids = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if int(pid) != os.getpid() and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1] == "1":
            kids.append((int(pid), open(f"/proc/{pid}/cmdline").read().replace(chr(0), " ").strip()))
    except (OSError, IndexError):
        pass
for pid, _ in kids:
    os.kill(pid, signal.SIGKILL)
print(json.dumps([cmd for _, cmd in kids]))
"""


class StackError(RuntimeError):
    """The stack's inputs could not be prepared, or a probe could not run; the message says what to fix."""


@dataclass(frozen=True)
class StackInputs:
    """Host directories the compose files mount, and the variables that point compose at them and at the
    images under test."""

    root: Path
    images: Mapping[str, str]  # compose variable -> image tag, e.g. GLINER2_IMAGE -> orin-kit/gliner2:...
    port: int
    engine: str

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def videos_dir(self) -> Path:
        return self.root / "videos"

    def env(self) -> dict[str, str]:
        dirs = {"MODELS_DIR": "models", "MODELS_DIR_YOLO": "tiled", "VIDEOS_DIR": "videos", "OUTPUT_DIR": "output",
                "LOGS_DIR": "logs"}
        return {**self.images, **{key: str(self.root / rel) for key, rel in dirs.items()},
                "VIDEO": VIDEO, "OUTPUT": OUTPUT, "ENGINE": self.engine, "GLINER2_PORT": str(self.port)}


def _closed_to_others(path: Path) -> list[str]:
    """The existing directories at and above ``path`` that other users cannot enter."""
    return [str(p) for p in [path, *path.parents] if p.is_dir() and not p.stat().st_mode & stat.S_IXOTH]


def inputs_root(project: str) -> Path:
    """Where the inputs of compose project ``project`` are laid out: under the kit's work directory, or, when a
    directory above it is closed to other users (a private home, a checkout in ``mktemp -d``), under the
    system's temporary directory: the images' non-root user must reach every bind source."""
    base = work_dir()
    if _closed_to_others(base):
        base = Path(tempfile.gettempdir()) / f"orin-kit-{os.getuid()}"
        base.mkdir(mode=0o755, exist_ok=True)
    return base / "compose" / project


def _readable_by_all(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        extra = stat.S_IRGRP | stat.S_IROTH | ((stat.S_IXGRP | stat.S_IXOTH) if path.is_dir() else 0)
        path.chmod(path.stat().st_mode | extra)


def prepare_inputs(root: Path, images: Mapping[str, str], port: int, gliner2_model: Path, detector: Path,
                   labels: Path, video_writer: Callable[[Path], object]) -> StackInputs:
    """Lay out the stack's inputs under root: the models and the video readable by the images' non-root user,
    output and logs writable by it (a directory Docker creates for a missing bind source is root's)."""
    if root.exists():
        shutil.rmtree(root)
    (root / "models").mkdir(parents=True)
    shutil.copytree(gliner2_model, root / "models" / "gliner2-tiny")
    (root / "tiled").mkdir()
    shutil.copy(detector, root / "tiled" / detector.name)
    shutil.copy(labels, root / "tiled" / "labels.txt")
    (root / "videos").mkdir()
    video_writer(root / "videos" / VIDEO)
    _readable_by_all(root)
    for rel in ("output", "logs"):
        (root / rel).mkdir()
        (root / rel).chmod(0o777)
    closed = _closed_to_others(root.parent)
    if closed:
        raise StackError(f"{', '.join(closed)} cannot be entered by other users, so the containers' non-root "
                         f"user cannot reach {root}; set ORIN_KIT_BUILD_DIR to a directory others can enter")
    return StackInputs(root, dict(images), port, detector.name)


def timestamp(text: str | None) -> float | None:
    """Epoch seconds of a Docker RFC 3339 timestamp (nanoseconds cut to micro); None for Docker's zero time."""
    if not text or text.startswith("0001-"):
        return None
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00").timestamp()


def health_timing(attrs: Mapping[str, Any]) -> dict[str, float]:
    """The container's HEALTHCHECK timing in seconds (Interval, Timeout, StartPeriod; Retries as a count)."""
    config = (attrs.get("Config") or {}).get("Healthcheck") or {}
    timing = {key: float(config.get(key) or 0) / 1e9 or default for key, default in HEALTH_DEFAULTS.items()}
    timing["Retries"] = float(config.get("Retries") or 3)
    return timing


def wait_bound_s(attrs: Mapping[str, Any]) -> float:
    """How long the engine may take to call a service healthy or unhealthy, doubled for a loaded machine."""
    t = health_timing(attrs)
    return 2 * (t["StartPeriod"] + (t["Retries"] + 1) * (t["Interval"] + t["Timeout"])) + 60


@dataclass(frozen=True)
class Readiness:
    """Where one service stands: settled (the engine has decided) or not, ready or not, and the times."""

    service: str
    kind: str
    settled: bool
    ready: bool
    state: str
    started_at: float | None = None
    ready_at: float | None = None

    def start_to_ready_s(self) -> float | None:
        return None if self.started_at is None or self.ready_at is None else self.ready_at - self.started_at


def readiness(service: str, kind: str, attrs: Mapping[str, Any]) -> Readiness:
    """Classify one container's `docker inspect` attrs (a pure function, so it is tested on recorded attrs)."""
    state = attrs.get("State") or {}
    status, code = str(state.get("Status")), state.get("ExitCode")
    restarts = int(attrs.get("RestartCount") or 0)
    restart_policy = (attrs.get("HostConfig") or {}).get("RestartPolicy") or {}
    policy = str(restart_policy.get("Name") or "no")
    retries = int(restart_policy.get("MaximumRetryCount") or 0)  # on-failure:N stops after N
    started = timestamp(state.get("StartedAt"))
    health = state.get("Health") or {}
    gave_up = restarts >= MAX_RESTARTS or policy == "no" or 0 < retries <= restarts

    def settled(ready: bool, text: str, at: float | None = None) -> Readiness:
        return Readiness(service, kind, True, ready, text, started, at)

    if status in ("exited", "dead") and code == 0 and kind == "batch":
        return settled(True, "completed (exit 0)", timestamp(state.get("FinishedAt")))
    if status in ("exited", "dead", "restarting") and (gave_up or status == "dead"):
        return settled(False, f"{status} (exit {code}) after {restarts} restart(s) under restart policy {policy!r}")
    if status == "running" and kind == "service":
        if not health:
            return settled(False, "running without a HEALTHCHECK: nothing tells when it serves")
        if health.get("Status") == "healthy":
            # the log outlives a restart: only probes of this start count
            ok = [timestamp(e.get("End")) for e in health.get("Log") or [] if e.get("ExitCode") == 0
                  and (timestamp(e.get("Start")) or 0) >= (started or 0)]
            return settled(True, "healthy", min((t for t in ok if t is not None), default=time.time()))
        if health.get("Status") == "unhealthy":
            last = ((health.get("Log") or [{}])[-1].get("Output") or "").strip()[-300:]
            return settled(False, f"unhealthy after {health.get('FailingStreak')} failed probes; last: {last!r}")
    if status == "running" and kind == "batch" and health.get("Status") == "unhealthy":
        return settled(False, "unhealthy while its run was going")
    return Readiness(service, kind, False, False, f"{status}" + (f" ({health.get('Status')})" if health else ""),
                     started)


def wait_ready(project: Project, kinds: Mapping[str, str], batch_wait_s: float,
               poll_s: float = 0.5) -> dict[str, Readiness]:
    """Poll each service until the engine has decided (ready, unhealthy, failing) or its bound passes."""
    found: dict[str, Readiness] = {}
    deadlines: dict[str, float] = {}
    start = time.monotonic()
    while True:
        for service, kind in kinds.items():
            if service in found and found[service].settled:
                continue
            containers = project.containers(service)
            if not containers:
                found[service] = Readiness(service, kind, False, False, "no container")
                deadlines.setdefault(service, start + 60)
            else:
                attrs = containers[-1].attrs
                found[service] = readiness(service, kind, attrs)
                bound = batch_wait_s if kind == "batch" else wait_bound_s(attrs)
                deadlines[service] = start + bound
        pending = [s for s, r in found.items() if not r.settled]
        if not pending:
            return found
        now = time.monotonic()
        for service in pending:
            if now > deadlines[service]:
                r = found[service]
                found[service] = Readiness(service, r.kind, True, False,
                                           f"still {r.state} after {deadlines[service] - start:.0f} s", r.started_at)
        time.sleep(poll_s)


def write_probe(project: Project, service: str, targets: Sequence[str]) -> dict[str, Any]:
    """Try a write to each target from inside a one-off container of service (its mounts, its user)."""
    result = project.run_service(service, ["python3", "-c", WRITE_PROBE, *targets], timeout=300)
    lines = result.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if result.returncode == 0 and lines else None
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise StackError(f"the write probe in a one-off {service} container exited {result.returncode}: "
                         f"{(result.stderr.strip() or result.stdout.strip())[-400:]}")
    return answer


def kill_main_process(container: Any) -> str:
    """SIGKILL the app under PID 1 (tini) from inside, as a crash would; PID 1 itself from the host where there
    is no child (only root may). Returns what was killed."""
    result = container.exec_run(["python3", "-c", KILL_MAIN], demux=True)
    out = (result.output[0] or b"").decode(errors="replace") if result.output else ""
    killed = json.loads(out.strip().splitlines()[-1]) if result.exit_code == 0 and out.strip() else []
    if killed:
        return "; ".join(killed)
    pid = int(container.attrs["State"]["Pid"])
    if os.geteuid() != 0:
        raise StackError(f"{container.name}: PID 1 has no child to kill and only root may kill PID {pid} "
                         "from the host; run as root")
    os.kill(pid, 9)
    return f"PID 1 (host PID {pid})"
