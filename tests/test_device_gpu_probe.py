"""The GPU probe itself, run here (no GPU): it prints one JSON document of facts in the recorded schema, says
there is no GPU, and turns a crash of torch or TensorRT into facts (exit code, stderr) instead of dying. Inside
the generic images it runs in the self-proof `device-generic-images-have-no-gpu` (fixtures/selfproof/device.yaml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.config import ConfigError
from conformance.config.devices import load_device_criteria
from conformance.config.probes import GpuProbe, parse_facts
from conformance.device.probes import CONTAINER_PROBES_DIR, GPU_PROBE
from conformance.device.runs import probe_argv
from conformance.device.verdicts import images


def _probe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GPU_PROBE), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, check=False)


def test_probe_on_a_machine_without_gpu_reports_it_in_the_recorded_schema() -> None:
    result = _probe("--image", "here", "--runtime-lib", "/usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1")
    assert result.returncode == 0, f"the probe must never fail itself: {result.stderr[-1000:]}"
    facts = parse_facts(result.stdout, GpuProbe, "the probe")
    assert facts.image == "here" and not facts.nodes["/dev/nvmap"].present, f"{facts.nodes}"
    assert not facts.linker["libcuda.so.1"].loads, "libcuda loads on a machine without an NVIDIA driver?"
    assert facts.runtime_libraries[0].present is False and facts.runtime_libraries[0].mounted is False
    needs = load_device_criteria().images["gliner2"]
    verdict = images.libraries_resolve(facts, needs)
    assert not verdict.passed and "libcuda-missing" in verdict.message, verdict.message


def test_a_crash_in_the_torch_child_is_a_fact_with_its_diagnosis(tmp_path: Path) -> None:
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os, sys\nprint('free(): invalid pointer', file=sys.stderr, flush=True)\n"
                                      "os.abort()\n")
    result = _probe("--image", "crashing", env={"PYTHONPATH": str(tmp_path)})
    facts = parse_facts(result.stdout, GpuProbe, "the probe")
    assert facts.torch.returncode < 0 and not facts.torch.imported, f"{facts.torch}"
    assert "free(): invalid pointer" in facts.torch.stderr, facts.torch.stderr
    verdict = images.torch_on_gpu(facts, load_device_criteria().images["gliner2"])
    assert not verdict.passed and "diagnosis: free-invalid-pointer" in verdict.message, verdict.message


def test_probe_output_without_facts_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match="the probe in x: expected one JSON document of facts on the last line"):
        parse_facts("Traceback ...\nImportError: boom\n", GpuProbe, "the probe in x")


def test_probe_command_names_the_nodes_libraries_and_mounted_engine_of_the_image() -> None:
    argv = probe_argv("yolo-tiled", load_device_criteria(), ["/usr/lib/x/libcuda.so.1.1"], engine=True)
    assert argv[:2] == ["python3", f"{CONTAINER_PROBES_DIR}/gpu_probe.py"], argv
    assert argv.count("--library") == 2 and "libnvinfer.so.10" in argv, argv
    assert argv[-2:] == ["--engine", "/models/model.engine"] and "--runtime-lib" in argv, argv
