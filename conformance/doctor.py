"""`python -m conformance doctor`: what this machine can run, and why, in one screen."""

from __future__ import annotations

import importlib.util
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conformance.docker.bases import stand_in_tags
from conformance.config.engine import load_disk_policy
from conformance.docker.builder import detect_builder
from conformance.docker.disk import GB, docker_root, room
from conformance.docker.engine import EngineError, docker_clients, docker_host, engine_problem
from conformance.device.recordings import Recording
from conformance.tiers import TIERS, Capabilities
from conformance.config.profiles import ProfileError, choose_profile


@dataclass(frozen=True)
class Finding:
    topic: str
    value: str
    detail: str = ""


def _engine_findings() -> list[Finding]:
    problem = engine_problem()
    if problem:
        return [Finding("engine", "none", problem)]
    docker = docker_clients()[0]
    version = subprocess.run([docker, "info", "--format", "{{.ServerVersion}} ({{.DefaultRuntime}} runtime)"],
                             capture_output=True, text=True, timeout=20, check=False).stdout.strip()
    findings = [Finding("engine", f"Docker {version}", "answering at " + docker_host())]
    try:
        builder = detect_builder()
        how = "docker buildx build" if builder.kind == "buildx" else "DOCKER_BUILDKIT=1 docker build"
        findings.append(Finding("builder", builder.kind, f"{how} via {builder.docker}"))
    except EngineError as error:
        findings.append(Finding("builder", "none", str(error)))
    disk = room(docker_root(docker), load_disk_policy())
    findings.append(Finding("disk", f"{disk.free_bytes / GB:.1f} GB free under {disk.path}",
                            f"a run needs {disk.need_bytes / GB:.0f} GB" + (
                                "" if disk.enough else "; make room: `python -m conformance engine prune`")))
    for tag, problem in stand_in_tags(docker):
        hint = "build with `python -m conformance engine up` (root)" if problem else ""
        findings.append(Finding("stand-in base", f"{tag}: {problem or 'present'}", hint))
    return findings


#: The kit's extras: modules that show one is installed, and what it adds (the extras of pyproject.toml).
EXTRAS = {
    "device": (("docker", "testinfra"), "the docker and jetson tiers on a device"),
    "tiled": (("cv2", "supervision", "scipy"), "the tiled detector's checks"),
    "nms": (("hypothesis", "pytest_benchmark", "cv2"), "the NMS library's checks and benchmarks"),
    "gliner2": (("gliner2", "torch", "transformers", "fastapi"), "the GLiNER2 service's checks"),
    "reports": (("scipy", "matplotlib", "junitparser", "in_toto_attestation"), "benchmark comparisons and sign-off"),
    "dev": (("mypy", "schemathesis", "playwright"), "the project's own tests"),
}


def extras_finding() -> Finding:
    """Which extras this environment has, and what each missing one would add."""
    present = [name for name, (modules, _) in EXTRAS.items()
               if all(importlib.util.find_spec(module) is not None for module in modules)]
    missing = [f"{name}: {what}" for name, (_, what) in EXTRAS.items() if name not in present]
    detail = ("missing " + "; ".join(missing) + " (pip install 'orin-conformance-kit[NAME]')") if missing else ""
    return Finding("extras", ", ".join(present) or "none", detail)


def diagnose(root: Path | str = "/", forced_profile: str | None = None,
             simulate: str | None = None) -> list[Finding]:
    """What this machine (or the device tree under root, or the recording `simulate`) can run, and why."""
    if simulate is not None:
        with Recording.open(simulate) as recording:
            return _diagnose(Capabilities(recording=recording), forced_profile)
    return _diagnose(Capabilities(device_root=Path(root)), forced_profile)


def _diagnose(capabilities: Capabilities, forced_profile: str | None) -> list[Finding]:
    device = capabilities.device
    findings = _engine_findings()
    findings.append(Finding("gpu", "none" if capabilities.problem("gpu") else "CUDA device visible",
                            capabilities.problem("gpu") or ""))
    if device.is_jetson:
        findings.append(Finding("jetson", device.model or "unknown model", ", ".join(device.compatible)))
        findings.append(Finding("L4T", device.l4t.version if device.l4t else "unreadable"))
        findings.append(Finding("JetPack", device.jetpack))
    else:
        findings.append(Finding("jetson", "no", device.why_not_jetson()))
    findings.append(Finding("CUDA", device.cuda or "none", "" if device.cuda else "/usr/local/cuda/version.json "
                            "missing"))
    findings += [Finding("warning", w) for w in device.warnings]
    try:
        choice = choose_profile(device, forced_profile)
        findings.append(Finding("profile", choice.profile.name, choice.reason))
    except ProfileError as error:
        findings.append(Finding("profile", "none", str(error)))
    findings.append(extras_finding())
    runnable = [t for t in TIERS if capabilities.problem(t) is None]
    findings.append(Finding("tiers", "core, benchmark" + "".join(f", {t}" for t in runnable),
                            "skipped here: " + (", ".join(t for t in TIERS if t not in runnable) or "none")))
    if capabilities.simulated:
        findings.append(Finding("SIMULATED", f"device data from {capabilities.device_source}",
                                "not a measurement of an Orin"))
    return findings


def render(findings: list[Finding]) -> str:
    width = max(len(f.topic) for f in findings)
    return "\n".join(f"{f.topic:<{width}}  {f.value}" + (f"  ({f.detail})" if f.detail else "") for f in findings)
