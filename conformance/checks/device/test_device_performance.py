"""Performance on the Orin against its profile: tiled FPS in the container at or above the floor and within 5% of
the same run natively (seed 001), the container's memory overhead measured as unified memory with tegrastats,
startup to the first processed frame, and the GLiNER2 model load and warm latency.

Facts: the workloads run on an Orin (conformance/device/live.py; needs --tiled-trt-engine), or the recording's
(SIMULATED: figures are the recording's, never a measurement). Verdicts: conformance/device/verdicts/performance.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.config.devices import DeviceCriteria
from conformance.config.probes import Gliner2Run, TegrastatsLog, TiledRuns
from conformance.config.profiles import Profile
from conformance.device.tegrastats import Summary
from conformance.device.verdicts import Judge
from conformance.device.verdicts import performance

pytestmark = [pytest.mark.jetson, pytest.mark.benchmark]

Workload = Callable[[str], Any]


def test_tiled_fps_in_container_meets_floor_and_native(workload: Workload, profile: Profile,
                                                       device_criteria: DeviceCriteria, judge: Judge) -> None:
    runs: TiledRuns = workload("tiled")
    v = judge(lambda: performance.tiled_fps(runs, profile, device_criteria.tiled))
    assert v.passed, v.message


def test_container_memory_overhead_below_profile(workload: Workload, profile: Profile, judge: Judge,
                                                 tegrastats_summary: Callable[[TegrastatsLog], Summary]) -> None:
    runs: TiledRuns = workload("tiled")
    v = judge(lambda: performance.memory_overhead(runs, tegrastats_summary(runs.native.tegrastats),
                                                  tegrastats_summary(runs.container.tegrastats), profile))
    assert v.passed, v.message


def test_startup_to_first_frame_below_profile(workload: Workload, profile: Profile, judge: Judge) -> None:
    runs: TiledRuns = workload("tiled")
    v = judge(lambda: performance.startup(runs, profile))
    assert v.passed, v.message


def test_gliner2_load_and_warm_latency_within_profile(workload: Workload, profile: Profile,
                                                      device_criteria: DeviceCriteria, judge: Judge) -> None:
    run: Gliner2Run = workload("gliner2")
    v = judge(lambda: performance.gliner2_load_and_latency(run, profile, device_criteria.gliner2.warm_requests))
    assert v.passed, v.message
