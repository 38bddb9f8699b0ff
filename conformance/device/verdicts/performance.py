"""Verdicts on performance on the device against the profile: tiled FPS in the container (floor, and within 5%
of the same run natively), the container's memory overhead from tegrastats, startup to the first frame, and the
GLiNER2 model load and warm latency."""

from __future__ import annotations

import statistics

from conformance.config.devices import Tiled
from conformance.config.probes import Gliner2Run, TiledRuns
from conformance.config.profiles import Profile
from conformance.device.tegrastats import Summary
from conformance.device.verdicts import Verdict, verdict

SEED_001 = "seed 001 'Success Metrics', 'Acceptance Criteria'"


def _failed_run(runs: TiledRuns) -> str | None:
    for mode, run in (("native", runs.native), ("container", runs.container)):
        if run.returncode != 0 or not run.fps:
            return f"the {mode} run exited {run.returncode} after {run.frames or 0} frame(s)"
    return None


def tiled_fps(runs: TiledRuns, profile: Profile, tiled: Tiled) -> Verdict:
    floor, ratio_min = profile.thresholds.tiled_fps_min, tiled.container_fps_ratio_min
    expected = (f">= {floor} FPS in the container (profile {profile.name}) and >= {ratio_min:.0%} of the native "
                f"FPS, {runs.frames} frames of {runs.video} with {runs.engine}")
    if failed := _failed_run(runs):
        return verdict(False, failed, expected, "see the diagnosis and the run's logs", SEED_001,
                       [runs.native.logs, runs.container.logs])
    native, container = float(runs.native.fps or 0), float(runs.container.fps or 0)
    ratio = container / native
    problems = []
    if container < floor:
        problems.append(f"{container:.2f} FPS is below the floor {floor}")
    if ratio < ratio_min:
        problems.append(f"{ratio:.1%} of native ({native:.2f} FPS) is not within {1 - ratio_min:.0%}")
    found = f"container {container:.2f} FPS, native {native:.2f} FPS ({ratio:.1%})"
    return verdict(not problems, found + (": " + "; ".join(problems) if problems else ""), expected,
                   "use --network host and the host's /dev/shm (seed 001 'Mitigation'), check jetson_clocks and the "
                   "power mode (`nvpmodel -q`) match the native run, profile the container's stages",
                   SEED_001, [runs.container.logs],
                   figures={"container_fps": container, "native_fps": native, "container_native_ratio": ratio})


def memory_overhead(runs: TiledRuns, native: Summary, container: Summary, profile: Profile) -> Verdict:
    limit = profile.thresholds.memory_overhead_mb_max
    overhead = container.ram_added_mb - native.ram_added_mb
    found = (f"the container adds {container.ram_added_mb:.0f} MB of RAM used (tegrastats peak over idle), the "
             f"native run {native.ram_added_mb:.0f} MB: overhead {overhead:.0f} MB")
    return verdict(overhead < limit, found, f"overhead < {limit} MB (profile {profile.name}), measured as unified "
                   "memory with tegrastats, not NVML", "look for a second copy of the model or of CUDA libraries in the "
                   "image (see test_image_carries_no_libraries_the_runtime_mounts), and for shm or cache volumes held "
                   "in RAM", SEED_001, [runs.container.logs],
                   figures={"memory_overhead_mb": overhead, "container_ram_added_mb": container.ram_added_mb,
                            "native_ram_added_mb": native.ram_added_mb})


def startup(runs: TiledRuns, profile: Profile) -> Verdict:
    limit = profile.thresholds.startup_s_max
    start = runs.startup
    ok = start.returncode == 0 and start.seconds < limit
    found = (f"`docker run` to the end of a one-frame run took {start.seconds:.1f} s (an upper bound of the time "
             f"to the first processed frame), exit {start.returncode}")
    return verdict(ok, found, f"< {limit} s (profile {profile.name})", "keep the engine mounted, not built at start; "
                   "no model download or pip at start; check the image's entrypoint", SEED_001, [start.logs],
                   figures={"startup_s": start.seconds})


def _p95(values: tuple[float, ...]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def gliner2_load_and_latency(run: Gliner2Run, profile: Profile, warm_requests: int) -> Verdict:
    load_limit, warm_limit = profile.thresholds.startup_s_max, profile.thresholds.gliner2_warm_ms_max
    expected = (f"the model loaded in < {load_limit} s (startup_s_max) and the warm p95 of {warm_requests} requests "
                f"< {warm_limit} ms (gliner2_warm_ms_max, profile {profile.name})")
    if not run.healthy or run.load_s is None or len(run.warm_ms) < warm_requests:
        return verdict(False, f"the GLiNER2 container (model {run.model}) healthy: {run.healthy}, load "
                       f"{run.load_s} s, {len(run.warm_ms)} warm request(s) answered", expected,
                       "see the diagnosis and the container's logs", "seed 000 'Known Working Signals'", [run.logs])
    p95, median = _p95(run.warm_ms), statistics.median(run.warm_ms)
    problems = []
    if run.load_s >= load_limit:
        problems.append(f"load {run.load_s:.1f} s")
    if p95 >= warm_limit:
        problems.append(f"warm p95 {p95:.0f} ms")
    found = (f"model load {run.load_s:.2f} s, first request {run.first_request_s} s, warm median {median:.0f} ms, "
             f"p95 {p95:.0f} ms")
    return verdict(not problems, found + (f" (over: {', '.join(problems)})" if problems else ""), expected,
                   "check the model loads on the GPU ('GLiNER2 loaded on GPU (Orin)' in the log) and jetson_clocks",
                   "seed 000 'Uvicorn / Startup Settings', 'Known Working Signals'", [run.logs],
                   figures={"gliner2_load_s": run.load_s, "gliner2_warm_p95_ms": p95,
                            "gliner2_warm_median_ms": median})
