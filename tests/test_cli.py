"""The kit's command line: doctor tells the truth, bad input is a one-line error with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

from conformance import FIXTURES_DIR, SOURCE_ROOT


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True,
                          cwd=SOURCE_ROOT, timeout=120, check=False)


def test_doctor_on_a_recorded_orin_names_model_jetpack_cuda_and_profile() -> None:
    result = _cli("doctor", "--root", str(FIXTURES_DIR / "devices" / "agx-orin-64gb-jp621"))
    assert result.returncode == 0, result.stderr
    for expected in ("NVIDIA Jetson AGX Orin Developer Kit", "L4T            36.4.7", "JetPack        6.2.1",
                     "CUDA           12.6", "profile        agx-orin-64gb", "SIMULATED"):
        assert expected in result.stdout, f"doctor output lacks {expected!r}:\n{result.stdout}"


def test_doctor_on_this_host_says_it_is_no_jetson() -> None:
    result = _cli("doctor")
    assert result.returncode == 0, result.stderr
    assert "not a Jetson: /etc/nv_tegra_release is missing" in result.stdout, result.stdout
    assert "profile        generic-host" in result.stdout, result.stdout


def test_doctor_rejects_an_unknown_profile_in_one_line() -> None:
    result = _cli("doctor", "--profile", "orin-xx")
    assert result.returncode == 2, f"exit {result.returncode}, expected 2"
    assert result.stderr.strip().startswith("error: --profile 'orin-xx': no such profile; expected one of"), (
        result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1, f"error must be one line: {result.stderr!r}"


def test_unknown_command_exits_non_zero_with_usage() -> None:
    result = _cli("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr, result.stderr
