"""The device checks on recorded devices: every recorded good Orin passes them all (labelled SIMULATED), a host
skips them naming the missing file. Known-bad recordings are in fixtures/selfproof/."""

from __future__ import annotations

import pytest

from conformance import CHECKS_DIR, FIXTURES_DIR

DEVICE_CHECKS = str(CHECKS_DIR / "device" / "test_device.py")
DEVICES = FIXTURES_DIR / "devices"


@pytest.mark.parametrize("recording", ["orin-nx-16gb-jp62", "orin-nx-8gb-jp621", "agx-orin-64gb-jp621",
                                       "orin-nano-8gb-jp621"])
def test_recorded_orins_pass_every_device_check(run_checks, recording: str) -> None:
    result = run_checks(DEVICE_CHECKS, f"--device-root={DEVICES / recording}")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*SIMULATED: device data read from*"])


def test_device_checks_skip_on_a_host_naming_the_missing_file(run_checks) -> None:
    result = run_checks(DEVICE_CHECKS, f"--device-root={DEVICES / 'x86-host'}", "-rs")
    result.assert_outcomes(skipped=6)
    result.stdout.fnmatch_lines(["*jetson: not a Jetson: /etc/nv_tegra_release is missing*"])


RUNTIME_CHECKS = str(CHECKS_DIR / "device" / "test_jetson_runtime.py")


def test_recorded_orin_engine_has_the_nvidia_runtime(run_checks) -> None:
    result = run_checks(RUNTIME_CHECKS, f"--device-root={DEVICES / 'orin-nx-16gb-jp62'}")
    result.assert_outcomes(passed=1)


def test_missing_device_root_is_a_usage_error(run_checks) -> None:
    result = run_checks(DEVICE_CHECKS, "--device-root=/nonexistent/recording")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, f"exit {result.ret}, expected a usage error"
    result.stderr.fnmatch_lines(["*--device-root /nonexistent/recording: not a directory*"])
