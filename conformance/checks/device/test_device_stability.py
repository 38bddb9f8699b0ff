"""Stability on the Orin: 5,000 frames in the container without RSS growth or a crash, 10 rapid restarts of the
service container each healthy again, and the two GPU containers of seed 002 on one Orin at once.

Facts: the workloads run on an Orin (`--run-slow`; conformance/device/live.py), or the recording's (SIMULATED, no
opt-in needed: a replay is instant). Verdicts: conformance/device/verdicts/stability.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.config.devices import DeviceCriteria
from conformance.config.probes import Restarts, Soak, TwoContainers
from conformance.config.profiles import Profile
from conformance.device.verdicts import Judge
from conformance.device.verdicts import stability

pytestmark = [pytest.mark.jetson, pytest.mark.slow]

Workload = Callable[[str], Any]


def test_5000_frames_in_container_without_rss_growth_or_crash(workload: Workload, profile: Profile,
                                                              device_criteria: DeviceCriteria, judge: Judge) -> None:
    run: Soak = workload("soak")
    v = judge(lambda: stability.soak(run, profile, device_criteria.soak))
    assert v.passed, v.message


def test_service_container_is_healthy_after_each_rapid_restart(workload: Workload, device_criteria: DeviceCriteria,
                                                               judge: Judge) -> None:
    run: Restarts = workload("restarts")
    v = judge(lambda: stability.restarts(run, device_criteria.restarts))
    assert v.passed, v.message


def test_two_gpu_containers_share_the_orin(workload: Workload, device_criteria: DeviceCriteria, judge: Judge) -> None:
    run: TwoContainers = workload("two-containers")
    v = judge(lambda: stability.two_containers(run, device_criteria.two_containers))
    assert v.passed, v.message
