"""The fleet merge on recorded device folders (fixtures/reports/fleet/): the device x criterion table and the
roll-ups per model give the expected statuses (expected.json there), infrastructure trouble ranks above failures,
and the outputs are what their consumers accept: a KCIDB v5 document (checked with kcidb-io's own schema) and
one JUnit file."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from conformance import FIXTURES_DIR
from conformance.cli import main
from conformance.config.acceptance import load_criteria
from conformance.reports.fleet import ORDER, merge, worst
from conformance.reports.junit import read_junit, validate_junit

pytest.importorskip("junitparser", reason="the merge reads JUnit with junitparser: pip install -e '.[reports]'")

FLEET = FIXTURES_DIR / "reports" / "fleet"
EXPECTED = json.loads((FLEET / "expected.json").read_text())
DIRS = sorted(p for p in FLEET.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("fleet") / "fleet"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["fleet", "merge", *map(str, DIRS), "--expect", "nx8-lab-01", "--out", str(out)])
    return code, stdout.getvalue(), out


def test_the_recorded_fleet_gives_its_expected_table() -> None:
    fleet = merge(DIRS, load_criteria(), ["nx8-lab-01"])
    found = {d.id: d.status for d in fleet.devices}
    assert found == EXPECTED["devices"], f"device statuses {found}, expected {EXPECTED['devices']}"
    verdicts = {d.id: d.acceptance.verdict if d.acceptance else None for d in fleet.devices}
    assert verdicts == EXPECTED["verdicts"], verdicts
    devices = {d.id: d for d in fleet.devices}
    for device, cells in EXPECTED["cells"].items():
        got = {cid: devices[device].cells[cid].status for cid in cells}
        assert got == cells, f"{device}: {got}, expected {cells}"
    models = {m: r["status"] for m, r in fleet.rollups().items()}
    assert models == EXPECTED["models"], models
    assert fleet.exit_code() == 1, "a fleet with an unreachable, errored or failed device must exit 1"


def test_infrastructure_trouble_ranks_above_failures_and_pass_above_skip() -> None:
    assert ORDER.index("unreachable") < ORDER.index("error") < ORDER.index("fail") < ORDER.index("pass")
    assert worst(["pass", "skip"]) == "pass" and worst(["fail", "error"]) == "error"
    assert worst(["pass", "missing"]) == "missing", "a required check not collected is never a pass"


def test_the_merge_command_writes_table_kcidb_and_junit(merged: tuple[int, str, Path]) -> None:
    code, stdout, out = merged
    assert code == 1, f"exit {code}, expected 1 (devices failed or unreachable):\n{stdout}"
    assert EXPECTED["headline"] in stdout, stdout
    table = (out / "fleet.md").read_text()
    assert table.startswith(f"# {EXPECTED['headline']}"), table[:200]
    assert "| s001-p0-fps | P0 | pass 10.4 FPS | pass 9.8 FPS | pass 10.4 FPS | FAIL 8.1 FPS | UNREACHABLE |" in table


def test_the_fleet_json_is_a_valid_kcidb_document_with_origin_prefixed_ids(merged: tuple[int, str, Path]) -> None:
    kcidb_io = pytest.importorskip("kcidb_io", reason="the KCIDB schema check needs kcidb-io (dev extra)")
    data = json.loads((merged[2] / "fleet.json").read_text())
    kcidb_io.schema.V5_3.validate(data)
    ids = [o["id"] for kind in ("checkouts", "builds", "tests") for o in data[kind]]
    assert all(i.startswith("orin_kit:") for i in ids), [i for i in ids if not i.startswith("orin_kit:")]
    assert len(ids) == len(set(ids)), "ids must be unique"
    fps = next(t for t in data["tests"] if t["id"] == "orin_kit:nx16-lab-02:s001-p0-fps")
    assert fps["status"] == "FAIL" and fps["number"] == {"value": 8.1, "unit": "FPS"}, fps
    lost = next(t for t in data["tests"] if t["id"] == "orin_kit:nx8-lab-01:s001-p0-fps")
    assert lost["status"] == "MISS" and lost["misc"]["kit_status"] == "unreachable", lost


def test_the_merged_junit_has_one_suite_per_device_and_is_sound(merged: tuple[int, str, Path]) -> None:
    path = merged[2] / "fleet.xml"
    assert validate_junit(path, ("fleet_status", "model")) == [], validate_junit(path, ("fleet_status", "model"))
    run = read_junit(path)
    unreachable = [c for c in run.cases if c.outcome == "error" and "nx8-lab-01" in c.message]
    assert unreachable, "the unreachable device must appear as an error testcase, not vanish"


def test_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["fleet", "merge", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert code == 2 and "not a directory" in err.getvalue(), err.getvalue()
