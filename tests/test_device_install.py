"""The device install alone (the `device` extra, exactly as locks/device.txt pins it): the jetson tier runs on a
recording without one collection error, and the docker tier collects, every area that needs another extra
skipping with a reason that names the extra. This is what an Orin user has after the device install."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import SOURCE_ROOT
from conformance.locks import LockError, find_uv, kit_locks


@pytest.fixture(scope="module")
def device_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        uv = find_uv()
    except LockError as error:
        pytest.skip(str(error))
    venv = tmp_path_factory.mktemp("device") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    lock = next(lock for lock in kit_locks() if lock.path.name == "device.txt")
    done = subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--require-hashes",
                           "--no-deps", "-r", str(lock.path)], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, f"installing {lock.path} failed: {done.stderr[-2000:]}"
    return venv / "bin" / "python"


def _suite(python: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The suite from this checkout (on PYTHONPATH), with nothing installed but the device lock."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = str(SOURCE_ROOT)
    return subprocess.run([str(python), "-m", "pytest", "-p", "conformance.plugin", "--pyargs", "conformance.checks",
                           "-p", "no:cacheprovider", "-rs", "--reports-dir", str(tmp_path / "reports"), *args],
                          capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path, env=env)


def test_device_install_runs_the_simulated_jetson_tier_without_a_collection_error(
        device_python: Path, tmp_path: Path) -> None:
    result = _suite(device_python, tmp_path, "-m", "jetson", "--simulate-device", "orin-nx-16gb")
    tail = result.stdout[-3000:]
    assert result.returncode == 0 and " error" not in tail.splitlines()[-1], (
        f"the jetson tier with the device install alone exited {result.returncode}; expected it to run with 0 "
        f"collection errors (an area needing another extra skips, naming it):\n{tail}")
    passed = re.search(r"(\d+) passed", tail)
    assert passed and int(passed.group(1)) >= 20, f"expected the simulated device checks to run and pass:\n{tail}"
    assert "orin-conformance-kit[tiled]" in result.stdout, (
        f"the tiled area's skip must name the extra to install:\n{tail}")


def test_device_install_collects_the_docker_tier_naming_the_extras_it_lacks(
        device_python: Path, tmp_path: Path) -> None:
    result = _suite(device_python, tmp_path, "-m", "docker", "--collect-only", "-q")
    tail = result.stdout[-3000:]
    assert result.returncode == 0 and "error" not in tail.lower().splitlines()[-1], (
        f"collecting the docker tier with the device install alone exited {result.returncode}; expected no "
        f"collection error:\n{tail}")
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips and all(re.search(r"extra|pip install", line) for line in skips), (
        "every area skipped for a missing library must name the extra that brings it; found:\n" + "\n".join(skips))


def test_doctor_names_the_extras_present_and_what_each_missing_one_adds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from conformance import doctor

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("cv2", "gliner2") else real(name, *a))
    finding = doctor.extras_finding()
    assert "device" in finding.value and "tiled" not in finding.value and "gliner2" not in finding.value, finding
    assert "tiled: the tiled detector's checks" in finding.detail and "[NAME]" in finding.detail, finding.detail
