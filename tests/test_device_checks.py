"""The device tier's options and labels: a missing recording is a one-line usage error, --live-image-probes needs
--simulate-device, SIMULATED results say so per check, and a SIMULATED run refuses the nvidia runtime."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import CHECKS_DIR
from conformance.docker import containers

DEVICE_CHECKS = str(CHECKS_DIR / "device" / "test_device.py")


def test_unknown_recording_is_a_usage_error_naming_the_known_ones(run_checks: Any) -> None:
    result = run_checks(DEVICE_CHECKS, "--simulate-device=orin-xx")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, f"exit {result.ret}, expected a usage error"
    result.stderr.fnmatch_lines(["*--simulate-device orin-xx: no such recording; expected a folder with "
                                 "recording.yaml, one of *orin-nx-16gb*"])


def test_live_image_probes_need_a_simulated_device(run_checks: Any) -> None:
    result = run_checks(DEVICE_CHECKS, "--live-image-probes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, f"exit {result.ret}, expected a usage error"
    result.stderr.fnmatch_lines(["*--live-image-probes: only with --simulate-device NAME*"])


def test_recording_given_by_path_is_simulated_and_labelled_per_check(run_checks: Any, devices_dir: Any) -> None:
    result = run_checks(DEVICE_CHECKS, f"--simulate-device={devices_dir / 'agx-orin-64gb'}", "-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*test_l4t_release_file_is_readable PASSED (SIMULATED)*",
                                 "SIMULATED: device data from recording agx-orin-64gb*",
                                 "SIMULATED PASSED *test_device.py::test_profile_fits_this_device"])


def test_slow_jetson_checks_replay_without_opt_in_when_simulated(run_checks: Any) -> None:
    result = run_checks(str(CHECKS_DIR / "device" / "test_device_stability.py"), "--simulate-device=orin-nano-8gb")
    result.assert_outcomes(passed=3)


def test_a_forbidden_runtime_is_refused_before_any_container_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containers, "_FORBIDDEN_RUNTIMES", {})
    containers.forbid_runtime("nvidia", "this run is SIMULATED")
    with pytest.raises(containers.ContainerError, match="refusing to start a container with --runtime nvidia: "
                                                        "this run is SIMULATED"):
        containers.Container("any:tag", ["true"], runtime="nvidia")
    with pytest.raises(containers.ContainerError, match="refusing"):
        containers.run_once("any:tag", ["true"], runtime="nvidia")
