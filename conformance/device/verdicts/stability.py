"""Verdicts on stability on the device: a 5,000-frame soak without RSS growth or a crash, rapid restarts of the
service container each healthy again, and two GPU containers sharing one Orin (seed 002)."""

from __future__ import annotations

from conformance.config.devices import Restarts as RestartCriteria
from conformance.config.devices import Soak as SoakCriteria
from conformance.config.devices import TwoContainers as TwoCriteria
from conformance.config.probes import Restarts, Soak, TwoContainers
from conformance.config.profiles import Profile
from conformance.device.diagnosis import diagnose
from conformance.device.verdicts import Verdict, listing, verdict


def growth_mb_per_1000_frames(samples: tuple[tuple[float, float], ...], fps: float, warmup_s: float) -> float | None:
    """Least-squares slope of RSS over time after the warm-up, as MB per 1,000 frames at the run's FPS."""
    points = [(t, mb) for t, mb in samples if t >= warmup_s]
    if len(points) < 3 or fps <= 0:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_mb = sum(mb for _, mb in points) / len(points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    slope = sum((t - mean_t) * (mb - mean_mb) for t, mb in points) / var  # MB per second
    return slope * 1000.0 / fps


def soak(run: Soak, profile: Profile, criteria: SoakCriteria) -> Verdict:
    limit = profile.thresholds.rss_growth_mb_max
    expected = (f"{criteria.frames} frames processed in the container, exit 0, no crash signature in its log, RSS "
                f"growth < {limit} MB per 1,000 frames after {criteria.warmup_s:.0f} s of warm-up (profile "
                f"{profile.name})")
    crashes = [f.diagnosis.id for f in diagnose(run.logs) if f.diagnosis.crash]
    problems = []
    if run.returncode != 0 or run.frames_done < criteria.frames:
        problems.append(f"exit {run.returncode} after {run.frames_done} of {run.frames_requested} frames")
    if crashes:
        problems.append(f"crash signatures {crashes} in the log")
    growth = growth_mb_per_1000_frames(run.rss_mb, run.fps or 0.0, criteria.warmup_s)
    if growth is None:
        problems.append(f"too few RSS samples after the warm-up ({len(run.rss_mb)} in all) to measure growth")
    elif growth >= limit:
        problems.append(f"RSS grows {growth:.1f} MB per 1,000 frames")
    found = listing(problems) if problems else (f"{run.frames_done} frames at {run.fps} FPS, RSS growth "
                                                f"{growth:.1f} MB per 1,000 frames")
    return verdict(not problems, found, expected, "find the leak or the crashing module (see the diagnosis); "
                   "seed 000 removed onnxruntime for its crash after inference", criteria.source, [run.logs],
                   figures={"soak_rss_growth_mb_per_1000_frames": growth} if growth is not None else {})


def restarts(run: Restarts, criteria: RestartCriteria) -> Verdict:
    bad = [f"restart {a.attempt}: {a.health} after {a.seconds:.1f} s" for a in run.attempts
           if a.health != "healthy" or a.seconds > criteria.healthy_within_s]
    slowest = max((a.seconds for a in run.attempts), default=0.0)
    enough = len(run.attempts) >= criteria.count
    found = listing(bad) if bad else f"{len(run.attempts)} restarts of {run.image}, slowest healthy after {slowest:.1f} s"
    if not enough:
        found = f"only {len(run.attempts)} restart(s) ran; " + found
    return verdict(enough and not bad, found, f"{criteria.count} rapid restarts of the service container, each "
                   f"healthy within {criteria.healthy_within_s:.0f} s", "see the diagnosis and the container's log; "
                   "MODEL_PRELOAD=0 keeps start-up free of the model load (seed 000)", criteria.source, [run.logs],
                   figures={"restart_slowest_s": slowest})


def two_containers(run: TwoContainers, criteria: TwoCriteria) -> Verdict:
    problems = []
    for c in run.containers:
        if c.oom_killed or c.peak_mb >= c.memory_limit_mb:
            problems.append(f"{c.name} peaked at {c.peak_mb:.0f} MB of its {c.memory_limit_mb} MB limit"
                            + (" (OOM-killed)" if c.oom_killed else ""))
        if c.memory_limit_mb > criteria.memory_limit_mb:
            problems.append(f"{c.name} ran with a {c.memory_limit_mb} MB limit, above {criteria.memory_limit_mb} MB")
        if c.returncode != 0 or not c.completed:
            problems.append(f"{c.name} exited {c.returncode} (completed: {c.completed})")
    if len(run.containers) < 2 or len(set(run.order)) < 2:
        problems.append(f"{len(run.containers)} container(s), used in order {list(run.order)}")
    drop = run.mem_available_before_mb - run.mem_available_after_mb
    if drop > criteria.free_memory_back_mb:
        problems.append(f"MemAvailable {drop:.0f} MB lower after both stopped")
    found = listing(problems) if problems else (
        f"{listing([f'{c.name} peak {c.peak_mb:.0f}/{c.memory_limit_mb} MB' for c in run.containers])}, used in "
        f"order {' then '.join(run.order)}, MemAvailable back within {max(drop, 0):.0f} MB")
    return verdict(not problems, found, f"two GPU containers at once, each under its {criteria.memory_limit_mb} MB "
                   "limit, used one after the other, both completing, the device's free memory back within "
                   f"{criteria.free_memory_back_mb:.0f} MB", "set a memory limit per container and make GPU use "
                   "sequential in the application (seed 002)", criteria.source, [c.logs for c in run.containers],
                   figures={"mem_available_drop_mb": drop})
