"""The Orin itself: its L4T release is readable and known, it runs the JetPack, CUDA and L4T release the images
are made for, its GPU device nodes exist, and the profile fits the board.

Facts: the host's files (on an Orin, `pytest -m jetson`), or a recording's (`--simulate-device NAME`, SIMULATED).
Verdicts: conformance/device/verdicts/host.py.
"""

from __future__ import annotations

import pytest

from conformance.config.devices import DeviceCriteria
from conformance.config.profiles import Profile, ProfileChoice
from conformance.device.facts import DeviceInfo
from conformance.device.verdicts import Judge
from conformance.device.verdicts import host

pytestmark = pytest.mark.jetson


def test_l4t_release_file_is_readable(device: DeviceInfo, judge: Judge) -> None:
    v = judge(lambda: host.release_readable(device))
    assert v.passed, v.message


def test_l4t_release_maps_to_a_known_jetpack(device: DeviceInfo, judge: Judge) -> None:
    v = judge(lambda: host.release_known(device))
    assert v.passed, v.message


def test_jetpack_major_matches_profile(device: DeviceInfo, profile: Profile, judge: Judge) -> None:
    v = judge(lambda: host.jetpack_matches_profile(device, profile))
    assert v.passed, v.message


def test_cuda_matches_jetpack(device: DeviceInfo, judge: Judge) -> None:
    v = judge(lambda: host.cuda_matches_jetpack(device))
    assert v.passed, v.message


def test_device_runs_the_release_the_images_are_made_for(device: DeviceInfo, device_criteria: DeviceCriteria,
                                                         judge: Judge) -> None:
    v = judge(lambda: host.release_made_for(device, device_criteria.made_for))
    assert v.passed, v.message


def test_gpu_device_nodes_are_visible(device: DeviceInfo, device_criteria: DeviceCriteria, judge: Judge) -> None:
    v = judge(lambda: host.gpu_nodes_on_host(device, device_criteria.runtime))
    assert v.passed, v.message


def test_profile_fits_this_device(device: DeviceInfo, profile_choice: ProfileChoice, judge: Judge) -> None:
    v = judge(lambda: host.profile_fits(device, profile_choice))
    assert v.passed, v.message
