"""The recorded devices: every good recording passes every jetson check (labelled SIMULATED, no container started
with the nvidia runtime), and every broken recording of fixtures/selfproof/device.yaml fails exactly the checks
its row names, with their messages and diagnoses, no more (the self-proof runner only proves the named ones).

The first test runs the very command docs/device.md gives: `pytest conformance -m jetson --simulate-device NAME`.
"""

from __future__ import annotations

import fnmatch
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance import CHECKS_DIR, FIXTURES_DIR, SOURCE_ROOT
from conformance.config import load
from conformance.config.selfproof import KnownBad, SelfProofTable
from conformance.device.recordings import available

GOOD = ["orin-nx-16gb", "agx-orin-64gb", "orin-nano-8gb"]
DEVICE_TABLE = load(FIXTURES_DIR / "selfproof" / "device.yaml", SelfProofTable).known_bads
RECORDED = {name: bad for name, bad in DEVICE_TABLE.items()
            if any(a.startswith("--simulate-device=") for a in bad.args) and "--live-image-probes" not in bad.args}


def _results(reports: Path) -> list[dict[str, Any]]:
    return list(json.loads((reports / "summary.json").read_text())["results"])


def _relative(nodeid: str) -> str:
    return nodeid.split("conformance/checks/", 1)[-1]


@pytest.mark.parametrize("recording", GOOD)
def test_the_documented_simulated_run_passes_every_jetson_check(pytester: pytest.Pytester, tmp_path: Path,
                                                                 recording: str) -> None:
    reports, junit = tmp_path / "reports", tmp_path / "junit.xml"
    # The command of docs/device.md, run from the checkout: the whole suite, jetson checks only.
    result = pytester.runpytest_subprocess(
        str(SOURCE_ROOT / "conformance"), "-m", "jetson", f"--simulate-device={recording}", "-p", "no:cacheprovider",
        "--rootdir", str(SOURCE_ROOT), "-c", str(SOURCE_ROOT / "pyproject.toml"), f"--reports-dir={reports}",
        f"--junitxml={junit}", "-v")
    results = _results(reports)
    device = [r for r in results if "checks/device/" in r["nodeid"]]
    bad = [f"{r['nodeid']}: {r['outcome']} {r['detail'][:200]}" for r in results if r["outcome"] in ("failed", "error")]
    assert result.ret == 0 and not bad, f"{recording}: expected every jetson check to pass, got {bad}\n" \
                                         f"{result.stdout.str()[-3000:]}"
    assert len([r for r in device if r["outcome"] == "passed"]) >= 25, f"{recording}: too few device checks ran: {device}"
    skipped = [r for r in device if r["outcome"] == "skipped" and not r["detail"].startswith("not applicable: ")]
    assert not skipped, f"{recording}: jetson checks skipped on a good recording: {skipped}"
    assert all(r["simulated"] for r in results), f"{recording}: a result is not labelled SIMULATED"
    # per check, in the terminal and in JUnit, not only in the header
    result.stdout.fnmatch_lines(["*PASSED (SIMULATED)*", "SIMULATED: device data from recording*",
                                 "SIMULATED PASSED *test_gpu_in_containers.py::*"])
    cases = ET.parse(junit).getroot().iter("testcase")
    unlabelled = [c.get("name") for c in cases
                  if not any(p.get("name") == "SIMULATED" for p in c.iter("property"))]
    assert not unlabelled, f"{recording}: JUnit test cases without a SIMULATED property: {unlabelled}"
    assert "refusing to start a container with --runtime nvidia" not in result.stdout.str(), \
        f"{recording}: a check tried to start a container with the nvidia runtime"


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_broken_recording_fails_exactly_its_checks(run_checks: Any, tmp_path: Path, name: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    bad: KnownBad = RECORDED[name]
    # The device checks need only the suite's plugin (loaded by run_checks): skipping the other installed
    # plugins' start-up makes each of these runs ~3x faster.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    run_checks(str(CHECKS_DIR / "device"), "-m", "jetson", *bad.args)
    outcomes = {_relative(r["nodeid"]): r for r in _results(tmp_path / "reports")}
    failed = {node for node, r in outcomes.items() if r["outcome"] in ("failed", "error")}
    assert failed == set(bad.fails), (
        f"{name} ({bad.why}): failed {sorted(failed)}, expected exactly {sorted(bad.fails)} "
        "(fixtures/selfproof/device.yaml)")
    for node, pattern in bad.fails.items():
        assert fnmatch.fnmatchcase(outcomes[node]["message"], pattern), (
            f"{name}: {node} failed with {outcomes[node]['message'][:600]!r}, expected {pattern!r}")


def test_every_broken_recording_has_a_self_proof_row() -> None:
    named = {a.split("=", 1)[1] for bad in DEVICE_TABLE.values() for a in bad.args if a.startswith("--simulate-device=")}
    broken = {r for r in available() if r.startswith("bad-")}
    assert broken <= named, f"broken recordings no self-proof row uses: {sorted(broken - named)}"


def test_without_simulation_the_jetson_checks_skip_here_naming_why(run_checks: Any) -> None:
    result = run_checks(str(CHECKS_DIR / "device"), "-m", "jetson", "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) >= 25 and not outcomes.get("passed") and not outcomes.get("failed"), (
        f"expected every jetson check to skip on this machine (no Orin), got {outcomes}")
    result.stdout.fnmatch_lines(["*jetson: not a Jetson: /etc/nv_tegra_release is missing*--simulate-device "
                                 "orin-nx-16gb for a SIMULATED run*"])
