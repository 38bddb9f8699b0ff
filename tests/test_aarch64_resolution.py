"""What the Orin installs resolves for the Orin: the device lock and each image's requirements, for aarch64 and
JetPack 6's Python 3.10, from binary wheels only (pip's resolver, asked for that platform; seconds, from the
package index). No Python 3.10 nor aarch64 machine is needed to find a requirement that has no such wheel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import IMAGES_DIR
from conformance.locks import JETPACK_PYTHON, kit_locks

AARCH64 = ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64", "linux_aarch64")
DEVICE_LOCK = next(lock for lock in kit_locks() if lock.path.name == "device-jetson.txt")
#: What the jetson images install with pip, layer by layer (gliner and gliner2 without their dependencies).
IMAGE_REQUIREMENTS = {
    "gliner2-stack": ["-r", str(IMAGES_DIR / "gliner2" / "requirements-stack.txt")],
    "gliner2-service": ["-r", str(IMAGES_DIR / "gliner2" / "requirements.txt")],
    "gliner2-no-deps": ["--no-deps", "-r", str(IMAGES_DIR / "gliner2" / "requirements-nodeps.txt")],
    "yolo-tiled": ["-r", str(IMAGES_DIR / "yolo-tiled" / "requirements.txt")],
    "device-lock": ["--no-deps", "--require-hashes", "-r", str(DEVICE_LOCK.path)],
}


def _resolve_for_the_orin(args: list[str], tmp_path: Path) -> dict[str, str]:
    report = tmp_path / "report.json"
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--target", str(tmp_path / "target"), "--report", str(report), "--only-binary=:all:",
            "--python-version", JETPACK_PYTHON, *(arg for tag in AARCH64 for arg in ("--platform", tag)), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("WARNING: Location")]
    assert result.returncode == 0, (
        f"{' '.join(args)} does not resolve for aarch64 and Python {JETPACK_PYTHON} (JetPack 6); pip said:\n"
        + "\n".join(errors[-15:]) + "\nfix: a requirement with no wheel for the Orin's platform needs another "
        "version or a marker")
    return {item["metadata"]["name"].lower(): item["metadata"]["version"]
            for item in json.loads(report.read_text())["install"]}


@pytest.mark.parametrize("name", IMAGE_REQUIREMENTS)
def test_orin_installs_resolve_for_aarch64_and_python_3_10(name: str, tmp_path: Path) -> None:
    resolved = _resolve_for_the_orin(IMAGE_REQUIREMENTS[name], tmp_path)
    assert resolved, f"{name}: pip resolved nothing; expected the packages it installs"
    numpy = resolved.get("numpy")
    assert numpy is None or int(numpy.split(".")[0]) < 2, (
        f"{name} resolves numpy {numpy} for the Orin; expected numpy < 2 (modules built for numpy 1 crash)")
    assert not any(pkg.startswith("nvidia-") or pkg in {"torch", "onnxruntime"} for pkg in resolved), (
        f"{name} pulls {sorted(p for p in resolved if p.startswith('nvidia-') or p in {'torch', 'onnxruntime'})} "
        "on the Orin; expected JetPack's own CUDA stack and torch only from the pinned Jetson wheel")
