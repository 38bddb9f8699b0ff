"""The kit's command line: doctor tells the truth, bad input is a one-line error with a non-zero exit."""

from __future__ import annotations

import re
import subprocess
import sys

from conformance import FIXTURES_DIR, SOURCE_ROOT


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True,
                          cwd=SOURCE_ROOT, timeout=120, check=False)


def test_doctor_on_a_recorded_orin_names_model_jetpack_cuda_and_profile() -> None:
    result = _cli("doctor", "--simulate-device", "agx-orin-64gb")
    assert result.returncode == 0, result.stderr
    # doctor aligns its columns to the longest label shown, and which labels show depends on the engine
    for expected in (r"NVIDIA Jetson AGX Orin Developer Kit", r"L4T +36\.4\.7", r"JetPack +6\.2\.1", r"CUDA +12\.6",
                     r"profile +agx-orin-64gb", r"SIMULATED"):
        assert re.search(expected, result.stdout), f"doctor output lacks {expected!r}:\n{result.stdout}"


def test_doctor_on_this_host_says_it_is_no_jetson() -> None:
    result = _cli("doctor")
    assert result.returncode == 0, result.stderr
    assert "not a Jetson: /etc/nv_tegra_release is missing" in result.stdout, result.stdout
    assert re.search(r"profile +generic-host", result.stdout), result.stdout


def test_doctor_rejects_an_unknown_profile_in_one_line() -> None:
    result = _cli("doctor", "--profile", "orin-xx")
    assert result.returncode == 2, f"exit {result.returncode}, expected 2"
    assert result.stderr.strip().startswith("error: --profile 'orin-xx': no such profile; expected one of"), (
        result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1, f"error must be one line: {result.stderr!r}"


def test_unknown_command_exits_non_zero_with_usage() -> None:
    result = _cli("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr, result.stderr


def test_doctor_reads_a_device_tree_copied_from_an_orin() -> None:
    result = _cli("doctor", "--root", str(FIXTURES_DIR / "devices" / "orin-nano-8gb"))
    assert result.returncode == 0, result.stderr
    assert re.search(r"profile +orin-nano-8gb", result.stdout) and "SIMULATED" in result.stdout, result.stdout


def test_doctor_rejects_an_unknown_recording_in_one_line() -> None:
    result = _cli("doctor", "--simulate-device", "orin-xx")
    assert result.returncode == 2, f"exit {result.returncode}, expected 2"
    assert result.stderr.startswith("error: --simulate-device orin-xx: no such recording"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, f"error must be one line: {result.stderr!r}"


def _explain(log: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "explain", "-"], input=log, capture_output=True,
                          text=True, cwd=SOURCE_ROOT, timeout=120, check=False)


def test_explain_names_each_known_failure_once_with_cause_fix_and_source() -> None:
    log = ("docker: Error response from daemon: unknown or invalid runtime name: nvidia.\n"
           "A module that was compiled using NumPy 1.x cannot be run in NumPy 2.2.6 as it may crash.\n"
           "AttributeError: _ARRAY_API not found\n"
           "ImportError: libcuda.so.1: cannot open shared object file: No such file or directory\n"
           "PyTorch version: 2.9.0+cpu\nCUDA available: False\n"
           "Loaded runtime CuDNN library: 9.3.0 but source was compiled with: 9.4.0.\n"
           "NvRmMemInitNvmap failed with No such file or directory\n"
           "RuntimeError: operator torchvision::nms does not exist\n"
           "free(): invalid pointer\nfree(): invalid pointer\n"
           "docker: Error response from daemon: ... invoking the NVIDIA Container Runtime Hook directly (e.g. "
           "specifying the docker --gpus flag) is not supported.\n")
    result = _explain(log)
    assert result.returncode == 1, f"exit {result.returncode}, expected 1 (known failures found): {result.stderr}"
    ids = [line.split(" ", 1)[0] for line in result.stdout.splitlines()]
    assert ids == ["nvidia-runtime-unknown", "numpy1-module-on-numpy2", "numpy-array-api-missing", "libcuda-missing",
                   "torch-cpu-wheel", "cuda-unavailable", "cudnn-mismatch", "nvmap-missing",
                   "torchvision-nms-missing", "free-invalid-pointer", "gpus-flag-on-jetson"], result.stdout
    for line in result.stdout.splitlines():
        assert "; fix: " in line and "; source: " in line and "(line " in line, f"not cause/fix/source: {line}"


def test_explain_a_clean_log_exits_0_and_bad_input_exits_2() -> None:
    clean = _explain("INFO:     Uvicorn running on http://0.0.0.0:8012\nGLiNER2 loaded on GPU (Orin)\n")
    assert clean.returncode == 0 and not clean.stdout, f"exit {clean.returncode}: {clean.stdout}"
    assert "no known failure in 2 line(s)" in clean.stderr, clean.stderr
    missing = _cli("explain", "/nonexistent/log.txt")
    assert missing.returncode == 2 and missing.stderr.startswith("error: /nonexistent/log.txt: no such file"), (
        missing.stderr)
    empty = _explain("")
    assert empty.returncode == 2 and "is empty" in empty.stderr, empty.stderr
