"""What this machine can run: one probe per tier marker, each returning None or a one-line reason.

A reason says what is missing and what to install or run, because it becomes the skip message of every
check of that tier: never silently, never as a pass.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from conformance.docker.builder import detect_builder
from conformance.docker.engine import EngineError, engine_problem
from conformance.device.facts import DeviceInfo, missing_gpu_nodes, probe_device
from conformance.device.recordings import Recording

TIERS = ("docker", "gpu", "jetson")


def gpu_problem(root: Path = Path("/")) -> str | None:
    """None when a CUDA device is visible: an NVIDIA driver answering nvidia-smi, or a Jetson's GPU nodes."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            result = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False)
        except subprocess.TimeoutExpired:
            return "nvidia-smi -L timed out after 20 s: the NVIDIA driver is not answering"
        if result.returncode == 0 and "GPU" in result.stdout:
            return None
    if (root / "etc/nv_tegra_release").exists() and not missing_gpu_nodes(root):
        return None
    return ("no CUDA device: nvidia-smi lists no GPU and no Jetson GPU node (/dev/nvmap, /dev/nvgpu/igpu0) "
            "exists; the gpu tier needs an NVIDIA GPU with its driver (on Jetson: --runtime nvidia)")


@dataclass
class Capabilities:
    """Lazily probed once per session; `problem(tier)` is None when the tier can run.

    With a `recording` (`--simulate-device NAME`) every device fact comes from it: `device_root` is its
    resolved filesystem root and every result is SIMULATED.
    """

    device_root: Path = Path("/")
    recording: Recording | None = None
    _cache: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.recording is not None:
            self.device_root = self.recording.root

    @cached_property
    def device(self) -> DeviceInfo:
        return probe_device(self.device_root)

    @property
    def simulated(self) -> bool:
        """Device data comes from a recording, not this machine: results are SIMULATED."""
        return self.recording is not None or self.device_root.resolve() != Path("/")

    @property
    def device_source(self) -> str:
        """Where the device facts come from, for headers and per-check labels."""
        if self.recording is not None:
            return f"{self.recording.label()}, {self.recording.source}"
        return str(self.device_root)

    def problem(self, tier: str) -> str | None:
        if tier not in self._cache:
            self._cache[tier] = self._probe(tier)
        return self._cache[tier]

    def _probe(self, tier: str) -> str | None:
        if tier == "docker":
            if problem := engine_problem():
                return problem
            try:
                detect_builder()
            except EngineError as error:
                return str(error)
            return None
        if tier == "gpu":
            return gpu_problem()
        if tier == "jetson":
            if self.device.is_jetson:
                return None
            hint = ("" if self.simulated else
                    "; run on an Orin, or pass --simulate-device orin-nx-16gb for a SIMULATED run")
            return self.device.why_not_jetson() + hint
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
