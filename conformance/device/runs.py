"""Real runs of the probes on an Orin: the GPU probe inside an image, and the evidence folder every real run
writes (`reports/device/`), laid out like a recording, so that copying it to `fixtures/devices/NAME/` (with a
`recording.yaml`) turns a real run into a recording that a SIMULATED run can replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from conformance.config import ConfigError
from conformance.config.devices import DeviceCriteria
from conformance.config.probes import GpuProbe, TegrastatsLog, parse_facts
from conformance.device.diagnosis import diagnose_all, summary
from conformance.device.probes import CONTAINER_PROBES_DIR, PROBES_DIR
from conformance.util.files import write_atomically

NVIDIA_ENV = {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility,video"}
CONTAINER_ENGINE = "/models/model.engine"


class ProbeError(RuntimeError):
    """A probe could not run or printed no facts; the message carries the known failures its output shows."""


@dataclass(frozen=True)
class Evidence:
    """The folder a real run writes its facts to: probes/*.json and tegrastats/*.txt, as in a recording."""

    root: Path

    def write_facts(self, name: str, facts: BaseModel) -> Path:
        path = self.root / "probes" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, facts.model_dump_json(by_alias=True, indent=2) + "\n")
        return path

    def write_tegrastats(self, name: str, lines: Sequence[str], baseline_samples: int) -> TegrastatsLog:
        relative = f"tegrastats/{name}.txt"
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, "".join(line + "\n" for line in lines))
        return TegrastatsLog(file=relative, baseline_samples=baseline_samples)


def probe_argv(image: str, criteria: DeviceCriteria, runtime_libs: Iterable[str], engine: bool) -> list[str]:
    """The GPU probe's command line inside the container."""
    needs = criteria.images.get(image)
    argv = ["python3", f"{CONTAINER_PROBES_DIR}/gpu_probe.py", "--image", image]
    for node in (*criteria.runtime.nodes_required, *criteria.runtime.nodes_any_of):
        argv += ["--node", node]
    for library in (needs.libraries if needs else ("libcuda.so.1",)):
        argv += ["--library", library]
    for lib in runtime_libs:
        argv += ["--runtime-lib", lib]
    if engine:
        argv += ["--engine", CONTAINER_ENGINE]
    return argv


def probe_image(tag: str, image: str, criteria: DeviceCriteria, *, runtime: str | None,
                runtime_libs: Iterable[str] = (), engine: Path | None = None,
                environment: Mapping[str, str] | None = None) -> GpuProbe:
    """Run the GPU probe in a fresh container of `tag` (the probes mounted read-only) and read its facts."""
    from conformance.docker.containers import ContainerError, run_once

    volumes = {str(PROBES_DIR): f"{CONTAINER_PROBES_DIR}:ro"}
    if engine is not None:
        volumes[str(engine.resolve())] = f"{CONTAINER_ENGINE}:ro"
    env = dict(NVIDIA_ENV if runtime == "nvidia" else {}, **(environment or {}))
    argv = probe_argv(image, criteria, runtime_libs, engine is not None)
    try:
        result = run_once(tag, argv, volumes=volumes, runtime=runtime, environment=env, timeout=900)
    except ContainerError as error:
        raise ProbeError(f"the GPU probe could not start in {tag}: {error}{summary(diagnose_all([str(error)]))}") \
            from None
    try:
        return parse_facts(result.stdout, GpuProbe, f"the GPU probe in {tag}")
    except ConfigError as error:
        evidence = [result.stderr, result.stdout]
        raise ProbeError(f"{error}; it exited {result.returncode}, stderr: {result.stderr.strip()[-600:]!r}"
                         f"{summary(diagnose_all(evidence))}") from None
