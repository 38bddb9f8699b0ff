"""Device checks: the Orin runs the JetPack, CUDA and GPU nodes the images are built for.

Run on an Orin with `pytest -m jetson`; with `--device-root fixtures/devices/NAME` they read a recorded device
tree instead and the results are SIMULATED (fixtures/devices/README.md).
"""

from __future__ import annotations

import pytest

from conformance.device.facts import NV_TEGRA_RELEASE, DeviceInfo, missing_gpu_nodes
from conformance.config.profiles import Profile, ProfileChoice

pytestmark = pytest.mark.jetson


def test_l4t_release_file_is_readable(device: DeviceInfo) -> None:
    problems = [w for w in device.warnings if "nv_tegra_release" in w]
    assert device.l4t is not None, (
        f"/{NV_TEGRA_RELEASE} under {device.root} is not L4T's format: {'; '.join(problems)}; "
        "expected '# R36 (release), REVISION: 4.3, ...'; fix: reinstall nvidia-l4t-core or reflash "
        "(REFERENCE.md, Jetson facts)")


def test_l4t_release_maps_to_a_known_jetpack(device: DeviceInfo) -> None:
    if device.l4t is None:
        pytest.skip("no readable L4T release (see test_l4t_release_file_is_readable)")
    assert device.jetpack != "unknown", (
        f"L4T {device.l4t.version} is not a release this kit knows, so its JetPack is unknown; expected one of "
        "fixtures/devices/l4t_jetpack.yaml; fix: add the release with its JetPack and CUDA from NVIDIA's "
        "release notes, or flash a listed JetPack")


def test_jetpack_major_matches_profile(device: DeviceInfo, profile: Profile) -> None:
    if not profile.jetson:
        pytest.skip(f"profile {profile.name} is not a Jetson profile: no JetPack requirement")
    if device.jetpack_major is None:
        pytest.skip("JetPack unknown (see test_l4t_release_maps_to_a_known_jetpack)")
    assert device.jetpack_major == profile.jetpack_major, (
        f"found JetPack {device.jetpack} (L4T {device.l4t.version if device.l4t else '?'}), expected "
        f"JetPack {profile.jetpack_major} required by profile {profile.name}; fix: flash JetPack "
        f"{profile.jetpack_major}.x, the images build on l4t r36 bases (seeds 000 and 001)")


def test_cuda_matches_jetpack(device: DeviceInfo) -> None:
    if device.expected_cuda is None:
        pytest.skip(f"JetPack {device.jetpack}: no known CUDA to compare with")
    assert device.cuda == device.expected_cuda, (
        f"/usr/local/cuda is CUDA {device.cuda or 'missing'}, expected CUDA {device.expected_cuda} shipped with "
        f"JetPack {device.jetpack}; fix: `sudo apt install nvidia-jetpack` (a mismatch gives 'Loaded runtime "
        "CuDNN library ... but source was compiled with', REFERENCE.md)")


def test_gpu_device_nodes_are_visible(device: DeviceInfo) -> None:
    absent = missing_gpu_nodes(device.root)
    assert not absent, (
        f"GPU device nodes missing under {device.root}: {', '.join(absent)}; expected /dev/nvmap and the GPU "
        "node, or CUDA fails with 'NvRmMemInitNvmap failed'; fix: run the container with --runtime nvidia "
        "(REFERENCE.md, Jetson facts)")


def test_profile_fits_this_device(device: DeviceInfo, profile_choice: ProfileChoice) -> None:
    profile = profile_choice.profile
    assert profile.jetson, (
        f"this Jetson ({device.model!r}, compatible {', '.join(device.compatible) or 'none'}) matches no Jetson "
        "profile, so the generic host thresholds would apply; fix: add a profile in fixtures/profiles/ or pass "
        "--profile")
    assert profile.match.matches(device), (
        f"profile {profile.name} ({profile_choice.reason}) does not fit this device: model {device.model!r}, "
        f"compatible {', '.join(device.compatible) or 'none'}, {device.mem_total_mb} MB; expected "
        f"{profile.match}; fix: drop --profile to detect it, or pass the profile of this board")
