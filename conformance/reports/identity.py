"""Who ran what where: the identity of a run (device, profile, source revision, images), and the key that says
which benchmark runs may be compared.

A run's identity is written into `summary.json` (`run`), into the JUnit file's suite properties and into each
pytest-benchmark run (`machine_info.orin_kit`), so that every report can name the device, the profile, the
revision and whether the results are SIMULATED.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from conformance import SOURCE_ROOT
from conformance.device.facts import DeviceInfo

#: TensorRT's runtime library on L4T; its file name carries the version (libnvinfer.so.10.3.0).
_NVINFER = ("usr/lib/aarch64-linux-gnu/libnvinfer.so.*", "usr/lib/aarch64-linux-gnu/nvidia/libnvinfer.so.*")
#: `nvpmodel -q` prints `NV Power Mode: MAXN` (a recording keeps that output in nvpmodel.txt).
_POWER_MODE = re.compile(r"NV Power Mode:\s*(\S.*)")
#: Fields of the identity that must be equal for two benchmark runs to be compared (the environment);
#: the source revision and the image digests are what a comparison measures (the subject).
KEY_FIELDS = ("profile", "device_model", "power_mode", "l4t", "jetpack", "simulated", "host")


def _run(argv: list[str], cwd: Path | None = None, timeout: float = 20) -> str | None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def source_state(root: Path = SOURCE_ROOT) -> dict[str, Any]:
    """The git revision of the kit and whether its tree was clean (untracked files count; ignored ones don't)."""
    if not (root / ".git").exists() or shutil.which("git") is None:
        return {"revision": "unknown", "clean": None, "changed": []}
    revision = (_run(["git", "rev-parse", "HEAD"], root) or "unknown").strip() or "unknown"
    status = _run(["git", "status", "--porcelain"], root)
    changed = [line[3:] for line in status.splitlines()] if status is not None else []
    return {"revision": revision, "clean": None if status is None else not changed, "changed": changed[:50]}


def tensorrt_version(root: Path) -> str | None:
    """TensorRT version from the name of libnvinfer.so.X.Y.Z under root, None where there is none."""
    versions = []
    for pattern in _NVINFER:
        for path in root.glob(pattern):
            match = re.search(r"\.so\.(\d+\.\d+\.\d+)$", path.name)
            if match:
                versions.append(tuple(int(p) for p in match[1].split(".")))
    return ".".join(map(str, max(versions))) if versions else None


def power_mode(root: Path, simulated: bool) -> str | None:
    """The nvpmodel power mode (MAXN, 15W ...): recorded in nvpmodel.txt, or `nvpmodel -q` on a live Orin."""
    recorded = root / "nvpmodel.txt"
    text = recorded.read_text(errors="replace") if recorded.is_file() else None
    if text is None and not simulated and shutil.which("nvpmodel"):
        text = _run(["nvpmodel", "-q"], timeout=10)
    match = _POWER_MODE.search(text or "")
    return match[1].strip() if match else None


def host_description() -> str:
    """CPU model and count of a machine that is not a Jetson (a 2-core VM and a 16-core box never compare)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()} {model} x{os.cpu_count()}"


def device_facts(device: DeviceInfo) -> dict[str, Any]:
    return {
        "model": device.model, "compatible": list(device.compatible), "is_jetson": device.is_jetson,
        "l4t": device.l4t.version if device.l4t else None,
        "jetpack": None if device.jetpack == "unknown" else device.jetpack, "cuda": device.cuda,
        "tensorrt": tensorrt_version(device.root), "mem_total_mb": device.mem_total_mb,
    }


def benchmark_key(run: dict[str, Any]) -> dict[str, Any]:
    """The environment half of a run's identity: runs compare only when all of these are equal."""
    device = run.get("device") or {}
    return {
        "profile": run.get("profile"),
        "device_model": device.get("model"),
        "power_mode": run.get("power_mode"),
        "l4t": device.get("l4t"),
        "jetpack": device.get("jetpack"),
        "simulated": bool(run.get("simulated")),
        # a Jetson is named by its model; any other machine by its CPU
        "host": None if device.get("is_jetson") else run.get("host"),
    }


def key_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Human-readable differences between two benchmark keys, empty when they compare."""
    return [f"{field} {a.get(field)!r} vs {b.get(field)!r}" for field in KEY_FIELDS if a.get(field) != b.get(field)]


def key_slug(key: dict[str, Any]) -> str:
    """A short, file-name-safe name of a key (for baseline files and chart folders)."""
    parts = [str(key.get("profile")), str(key.get("device_model") or key.get("host") or "host"),
             str(key.get("power_mode") or "pm-unknown"), str(key.get("l4t") or "no-l4t")]
    if key.get("simulated"):
        parts.append("SIMULATED")
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", "_".join(parts)).strip("-")
    return slug[:120]
