"""The device workloads of a real run on an Orin, each returning the facts a recording holds (`config.probes`):
the tiled app natively and in its container with tegrastats sampling, the GLiNER2 container's load and warm
latency, the 5,000-frame soak, rapid restarts, and the two GPU containers of seed 002 on one Orin.

Containers run with `runtime` (the nvidia runtime on an Orin; a SIMULATED session refuses it, see
`containers.forbid_runtime`). Outputs and the reference videos live under `work`; facts and tegrastats lines
are written to the run's `Evidence` folder as they are measured.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import SOURCE_ROOT
from conformance.config.devices import DeviceCriteria
from conformance.config.probes import AppRun, Gliner2Run, Restart, Restarts, SharedRun, Soak, Startup, TiledRuns, \
    TwoContainers
from conformance.device.runs import NVIDIA_ENV, Evidence
from conformance.docker.containers import Container, ContainerError, run_once
from conformance.device.tegrastats import Sampler

TAIL = 4000
BASELINE_SAMPLES = 5
IDLE = ["python3", "-c", "import time; time.sleep(100000)"]
# One request, then warm ones, timed inside the container (no `docker exec` in the latency).
GLINER2_TIMING = """
import json, sys, time, urllib.request as u
def ask():
    req = u.Request('http://127.0.0.1:8012/v1/entities', data=json.dumps({'text': 'Ada Lovelace met Charles Babbage '
          'in London.', 'labels': ['person', 'city']}).encode(), headers={'Content-Type': 'application/json'})
    t0 = time.perf_counter(); u.urlopen(req, timeout=300).read(); return time.perf_counter() - t0
first = ask(); warm = [ask() * 1000 for _ in range(int(sys.argv[1]))]
metrics = u.urlopen('http://127.0.0.1:8012/metrics', timeout=30).read().decode()
load = [float(l.split()[-1]) for l in metrics.splitlines() if l.startswith('gliner2_model_load_seconds ')]
print(json.dumps({'first_request_s': first, 'warm_ms': warm, 'load_s': load[0] if load else None}))
"""


@dataclass
class LiveContext:
    evidence: Evidence
    work: Path
    criteria: DeviceCriteria
    tegrastats: str = "tegrastats --interval 200"
    native_python: str = "python3"
    runtime: str | None = "nvidia"

    def sampler(self) -> Sampler:
        return Sampler(shlex.split(self.tegrastats))

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**(NVIDIA_ENV if self.runtime == "nvidia" else {}), **(extra or {})}


def reference_video(work: Path, frames: int, width: int, height: int) -> Path:
    """A 1080p clip of moving objects crossing tile seams, made once per length."""
    from conformance.builders.scenes import motion_scene, write_video

    path = work / "videos" / f"reference-{width}x{height}-{frames}.mp4"
    if not path.is_file():
        write_video(motion_scene(width, height, frames), path)
    path.parent.chmod(0o755)
    path.chmod(0o644)
    return path


def _writable(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)  # the images run as a non-root user
    return path


def _labels(work: Path) -> Path:
    path = work / "labels.txt"
    if not path.is_file():
        path.write_text("".join(f"class{i}\n" for i in range(80)))
    path.chmod(0o644)
    return path


def _summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _volumes(engine: Path, labels: Path, video: Path, out: Path) -> dict[str, str]:
    """The tiled app's mounts: engine, labels and videos read-only, output read-write (seed 001)."""
    return {str(engine.resolve()): f"/models/{engine.name}:ro", str(labels): "/models/labels.txt:ro",
            str(video.parent): "/videos:ro", str(out): "/output"}


def _tiled_argv(video: str, output: str, engine: str, labels: str, frames: int | None = None) -> list[str]:
    argv = ["-m", "app.tiled", "--input", video, "--output", output, "--engine", engine, "--labels", labels,
            "--no-progress"]
    return argv + (["--max-frames", str(frames)] if frames else [])


def tiled_runs(ctx: LiveContext, tag: str, engine: Path) -> TiledRuns:
    """The reference video natively, then in the container, each with tegrastats; then the startup run."""
    c = ctx.criteria.tiled
    video, labels = reference_video(ctx.work, c.frames, c.width, c.height), _labels(ctx.work)
    out = _writable(ctx.work / "tiled-out")
    runs: dict[str, AppRun] = {}
    with ctx.sampler() as sampler:
        sampler.wait_for(BASELINE_SAMPLES)
        base = sampler.mark()
        env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT)}
        native = subprocess.run([*shlex.split(ctx.native_python), *_tiled_argv(str(video), str(out / "native.mp4"),
                                 str(engine), str(labels))], capture_output=True, text=True, cwd=SOURCE_ROOT, env=env,
                                timeout=3600, check=False)
        lines = sampler.stop()
    summary = _summary(out / "native.summary.json")
    runs["native"] = AppRun(returncode=native.returncode, frames=summary.get("frames"), fps=summary.get("fps"),
                            wall_s=summary.get("wall_s"), tegrastats=ctx.evidence.write_tegrastats(
                                "tiled-native", lines, base), logs=(native.stdout + native.stderr)[-TAIL:])
    volumes = _volumes(engine, labels, video, out)
    container_argv = ["python3", *_tiled_argv(f"/videos/{video.name}", "/output/container.mp4",
                                              f"/models/{engine.name}", "/models/labels.txt")]
    with ctx.sampler() as sampler:
        sampler.wait_for(BASELINE_SAMPLES)
        base = sampler.mark()
        result = run_once(tag, container_argv, volumes=volumes, runtime=ctx.runtime, network="host",
                          environment=ctx.environment(), shm_size="2g", timeout=3600)
        lines = sampler.stop()
    summary = _summary(out / "container.summary.json")
    runs["container"] = AppRun(returncode=result.returncode, frames=summary.get("frames"), fps=summary.get("fps"),
                               wall_s=summary.get("wall_s"), tegrastats=ctx.evidence.write_tegrastats(
                                   "tiled-container", lines, base), logs=(result.stdout + result.stderr)[-TAIL:])
    t0 = time.monotonic()
    first = run_once(tag, ["python3", *_tiled_argv(f"/videos/{video.name}", "/output/startup.mp4",
                                                   f"/models/{engine.name}", "/models/labels.txt", frames=1)],
                     volumes=volumes, runtime=ctx.runtime, network="host", environment=ctx.environment(),
                     shm_size="2g", timeout=600)
    startup = Startup(seconds=round(time.monotonic() - t0, 2), returncode=first.returncode,
                      logs=(first.stdout + first.stderr)[-TAIL:])
    facts = TiledRuns(schema="orin-kit/tiled-runs/1", video=video.name, frames=c.frames, engine=engine.name,
                      native=runs["native"], container=runs["container"], startup=startup)
    ctx.evidence.write_facts("tiled", facts)
    return facts


def _service(ctx: LiveContext, tag: str, model: Path, **extra: Any) -> Container:
    env = ctx.environment({"MODEL_PRELOAD": "0", "MODEL_PATH": "/models/gliner2",
                           "GLINER2_DEVICE": "cuda" if ctx.runtime == "nvidia" else "cpu"})
    return Container(tag, volumes={str(model): "/models/gliner2:ro"}, runtime=ctx.runtime, environment=env, **extra)


def gliner2_run(ctx: LiveContext, tag: str, model: Path) -> Gliner2Run:
    with _service(ctx, tag, model) as box:
        healthy = box.wait_health(timeout_s=120) == "healthy"
        timing = box.exec("python3", "-c", GLINER2_TIMING, str(ctx.criteria.gliner2.warm_requests)) if healthy else None
        logs = box.logs()
    data = json.loads(timing.stdout.strip().splitlines()[-1]) if timing and timing.returncode == 0 else {}
    facts = Gliner2Run(schema="orin-kit/gliner2-run/1", model=model.name, healthy=healthy,
                       load_s=data.get("load_s"), first_request_s=data.get("first_request_s"),
                       warm_ms=tuple(round(ms, 2) for ms in data.get("warm_ms", ())),
                       logs=(logs + (timing.stderr if timing else ""))[-TAIL:])
    ctx.evidence.write_facts("gliner2", facts)
    return facts


#: Processes that are not the app: the init (tini, which `docker run --init` names docker-init, or dumb-init)
#: and the sampler's own shell and cat.
_NOT_THE_APP = frozenset({"tini", "docker-init", "dumb-init", "sh", "cat"})


def app_rss_mb(proc_status: str) -> float | None:
    """Resident MB of the app's processes in `cat /proc/[0-9]*/status` output (the VmRSS lines, the init and the
    sampler left out); None once the app is gone. An exiting app's status has no VmRSS line, and a sample then
    would record a finished app as the 3 MB of tini and the sampler, as a CI run did on 2026-11-29."""
    kb, name = [], ""
    for line in proc_status.splitlines():
        if line.startswith("Name:"):
            name = line.partition(":")[2].strip()
        elif line.startswith("VmRSS:") and name not in _NOT_THE_APP:
            kb.append(int(line.split()[1]))
    return sum(kb) / 1024 or None


def _rss_mb(box: Container) -> float | None:
    return app_rss_mb(box.exec("sh", "-c", "cat /proc/[0-9]*/status 2>/dev/null").stdout)


def soak_run(ctx: LiveContext, tag: str, engine: Path) -> Soak:
    s, t = ctx.criteria.soak, ctx.criteria.tiled
    video, labels = reference_video(ctx.work, s.frames, t.width, t.height), _labels(ctx.work)
    out = _writable(ctx.work / "soak-out")
    argv = ["python3", *_tiled_argv(f"/videos/{video.name}", "/output/soak.mp4", f"/models/{engine.name}",
                                    "/models/labels.txt")]
    samples: list[tuple[float, float]] = []
    with Container(tag, argv, volumes=_volumes(engine, labels, video, out), runtime=ctx.runtime, network="host", environment=ctx.environment(), shm_size="2g") as box:
        t0, state = time.monotonic(), box.health()
        while not state.startswith("exited"):
            try:
                mb = _rss_mb(box)
            except ContainerError:  # the container may exit between the check and the exec
                mb = None
            state = box.health()
            # A sample counts only if the app still ran after it was read (a half-exited app reads near 0 MB).
            if mb is not None and not state.startswith("exited"):
                samples.append((round(time.monotonic() - t0, 1), round(mb, 1)))
                time.sleep(2.0)
            elif not state.startswith("exited"):
                time.sleep(0.5)
        code = int(state.split("code ")[-1].rstrip(")")) if "code " in state else -1
        logs = box.logs()
    summary = _summary(out / "soak.summary.json")
    facts = Soak(schema="orin-kit/soak/1", frames_requested=s.frames, frames_done=int(summary.get("frames", 0)),
                 fps=summary.get("fps"), returncode=code, rss_mb=tuple(samples), logs=logs[-TAIL:])
    ctx.evidence.write_facts("soak", facts)
    return facts


def restarts_run(ctx: LiveContext, tag: str, model: Path, docker: str) -> Restarts:
    r = ctx.criteria.restarts
    attempts = []
    with _service(ctx, tag, model) as box:
        box.wait_health(timeout_s=r.healthy_within_s)
        for attempt in range(1, r.count + 1):
            t0 = time.monotonic()
            subprocess.run([docker, "restart", "-t", "5", box.id], capture_output=True, timeout=120, check=False)
            health = box.wait_health(timeout_s=r.healthy_within_s)
            attempts.append(Restart(attempt=attempt, health=health, seconds=round(time.monotonic() - t0, 2)))
        logs = box.logs()
    facts = Restarts(schema="orin-kit/restarts/1", image=tag, attempts=tuple(attempts), logs=logs[-TAIL:])
    ctx.evidence.write_facts("restarts", facts)
    return facts


def _mem_available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


_PEAK = ("cat /sys/fs/cgroup/memory.peak 2>/dev/null || cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes "
         "2>/dev/null || echo 0")


def two_containers_run(ctx: LiveContext, yolo_tag: str, gliner2_tag: str, engine: Path, model: Path) -> TwoContainers:
    """Both GPU containers up at once, each with its memory limit; the detector, then the service, use the GPU."""
    limit = ctx.criteria.two_containers.memory_limit_mb
    t = ctx.criteria.tiled
    video, labels = reference_video(ctx.work, t.frames, t.width, t.height), _labels(ctx.work)
    out = _writable(ctx.work / "shared-out")
    before = _mem_available_mb()
    runs = []
    yolo = Container(yolo_tag, IDLE, volumes=_volumes(engine, labels, video, out), runtime=ctx.runtime, environment=ctx.environment(), mem_limit=f"{limit}m", shm_size="2g")
    service = _service(ctx, gliner2_tag, model, mem_limit=f"{limit}m")
    with ctx.sampler() as sampler, yolo, service:
        sampler.wait_for(BASELINE_SAMPLES)
        base = sampler.mark()
        detect = yolo.exec("python3", *_tiled_argv(f"/videos/{video.name}", "/output/shared.mp4",
                                                   f"/models/{engine.name}", "/models/labels.txt"))
        healthy = service.wait_health(timeout_s=120) == "healthy"
        answer = service.exec("python3", "-c", GLINER2_TIMING, "3") if healthy else None
        for name, box, code, done, logs in (
                ("yolo-tiled", yolo, detect.returncode, detect.returncode == 0, detect.stderr),
                ("gliner2", service, answer.returncode if answer else -1, bool(answer and answer.returncode == 0),
                 service.logs())):
            peak = int((box.exec("sh", "-c", _PEAK).stdout.strip() or "0").split()[0]) / 2**20
            oom = bool(box.inspect()["State"].get("OOMKilled"))
            runs.append(SharedRun(name=name, image=yolo_tag if name == "yolo-tiled" else gliner2_tag,
                                  memory_limit_mb=limit, peak_mb=round(peak, 1), oom_killed=oom, returncode=code,
                                  completed=done, logs=logs[-TAIL:]))
        lines = sampler.stop()
    time.sleep(3.0)  # let the kernel hand the containers' memory back
    facts = TwoContainers(schema="orin-kit/two-containers/1", order=("yolo-tiled", "gliner2"), containers=tuple(runs),
                          mem_available_before_mb=round(before, 1), mem_available_after_mb=round(_mem_available_mb(), 1),
                          tegrastats=ctx.evidence.write_tegrastats("two-containers", lines, base))
    ctx.evidence.write_facts("two-containers", facts)
    return facts
