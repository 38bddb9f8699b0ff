"""Self-proof of the device checks: recorded good devices pass, each known-bad recording fails its check."""

from __future__ import annotations

import pytest

from conformance import CHECKS_DIR, FIXTURES_DIR

DEVICE_CHECKS = str(CHECKS_DIR / "test_device.py")
DEVICES = FIXTURES_DIR / "devices"


@pytest.mark.parametrize("recording", ["orin-nx-16gb-jp62", "orin-nx-8gb-jp621", "agx-orin-64gb-jp621",
                                       "orin-nano-8gb-jp621"])
def test_recorded_orins_pass_every_device_check(run_checks, recording: str) -> None:
    result = run_checks(DEVICE_CHECKS, f"--device-root={DEVICES / recording}")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*SIMULATED: device data read from*"])


@pytest.mark.parametrize(
    ("recording", "extra", "failing_check", "message"),
    [
        ("bad-orin-nx-16gb-jp512", (), "test_jetpack_major_matches_profile",
         "*found JetPack 5.1.2 (L4T 35.4.1), expected JetPack 6 required by profile orin-nx-16gb*"),
        ("bad-unknown-release", (), "test_l4t_release_maps_to_a_known_jetpack",
         "*L4T 38.1.0 is not a release this kit knows*"),
        ("bad-malformed-release", (), "test_l4t_release_file_is_readable",
         "*nv_tegra_release* is not L4T's format*expected '# R36 (release)*"),
        ("bad-cuda-mismatch", (), "test_cuda_matches_jetpack",
         "*/usr/local/cuda is CUDA 11.4, expected CUDA 12.6 shipped with JetPack 6.2*"),
        ("bad-no-gpu-nodes", (), "test_gpu_device_nodes_are_visible",
         "*GPU device nodes missing*/dev/nvmap*--runtime nvidia*"),
        ("orin-nano-8gb-jp621", ("--profile=orin-nx-16gb",), "test_profile_fits_this_device",
         "*profile orin-nx-16gb (forced with --profile) does not fit this device*"),
    ],
    ids=["jetpack5", "unknown-release", "malformed-release", "cuda-mismatch", "no-gpu-nodes", "wrong-profile"],
)
def test_known_bad_device_fails_its_check(run_checks, recording: str, extra: tuple[str, ...],
                                          failing_check: str, message: str) -> None:
    result = run_checks(DEVICE_CHECKS, f"--device-root={DEVICES / recording}", *extra)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1, f"expected exactly {failing_check} to fail, got {outcomes}"
    result.stdout.fnmatch_lines([message, f"FAILED *{failing_check}*"])


def test_device_checks_skip_on_a_host_naming_the_missing_file(run_checks) -> None:
    result = run_checks(DEVICE_CHECKS, f"--device-root={DEVICES / 'x86-host'}", "-rs")
    result.assert_outcomes(skipped=6)
    result.stdout.fnmatch_lines(["*jetson: not a Jetson: /etc/nv_tegra_release is missing*"])


RUNTIME_CHECKS = str(CHECKS_DIR / "test_jetson_runtime.py")


def test_recorded_orin_engine_has_the_nvidia_runtime(run_checks) -> None:
    result = run_checks(RUNTIME_CHECKS, f"--device-root={DEVICES / 'orin-nx-16gb-jp62'}")
    result.assert_outcomes(passed=1)


def test_engine_without_nvidia_runtime_fails(run_checks) -> None:
    result = run_checks(RUNTIME_CHECKS, f"--device-root={DEVICES / 'bad-no-nvidia-runtime'}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*io.containerd.runc.v2*, not 'nvidia', so `--runtime nvidia` fails with "
                                 "'unknown or invalid runtime name: nvidia'*"])


def test_missing_device_root_is_a_usage_error(run_checks) -> None:
    result = run_checks(DEVICE_CHECKS, "--device-root=/nonexistent/recording")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, f"exit {result.ret}, expected a usage error"
    result.stderr.fnmatch_lines(["*--device-root /nonexistent/recording: not a directory*"])
