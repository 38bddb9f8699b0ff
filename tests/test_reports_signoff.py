"""The acceptance sign-off on recorded result sets (fixtures/reports/signoff/, README there): an all-pass device
run is SIGNED; a failing P0, a simulated run and a partial run never are; a changed byte fails verification
with the file named; the in-toto statement is a valid test-result statement."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import FIXTURES_DIR
from conformance.cli import main
from conformance.config.acceptance import load_criteria
from conformance.reports.acceptance import NOT_RUN, PASS, SIMULATED, evaluate, load_run_folder

pytest.importorskip("junitparser", reason="the sign-off reads JUnit with junitparser: pip install -e '.[reports]'")
pytest.importorskip("in_toto_attestation", reason="the statement needs in-toto-attestation: pip install -e '.[reports]'")

SETS = FIXTURES_DIR / "reports" / "signoff"


def _kit(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


Copy = Callable[[str], Path]


@pytest.fixture
def run_copy(tmp_path: Path) -> Copy:
    def copy(name: str) -> Path:
        return Path(shutil.copytree(SETS / name, tmp_path / name))

    return copy


def test_an_all_pass_run_on_an_orin_is_signed(run_copy: Copy) -> None:
    folder = run_copy("orin-nx-16gb-all-pass")
    code, out, err = _kit("signoff", str(folder))
    assert code == 0, f"exit {code}, expected 0 (SIGNED):\n{out}{err}"
    data = json.loads((folder / "acceptance.json").read_text())
    assert data["verdict"] == "SIGNED" and not data["blockers"], data["blockers"]
    p0 = [c for c in data["criteria"] if c["priority"] == "P0"]
    assert p0 and all(c["status"] == PASS for c in p0), [(c["id"], c["status"]) for c in p0 if c["status"] != PASS]
    fps = next(c for c in data["criteria"] if c["id"] == "s001-p0-fps")
    assert list(fps["figures"].values()) == [10.4] and fps["threshold"].startswith(">= 9.5"), fps
    for name in ("acceptance.md", "acceptance.html", "evidence/manifest.json", "evidence/statement.intoto.json"):
        assert (folder / name).is_file(), f"{name} not written"
    assert (folder / "acceptance.md").read_text().startswith("# SIGNED"), "the verdict comes first"


@pytest.mark.parametrize("name, blocker", [
    ("orin-nx-16gb-failing-p0", "P0 s001-p0-fps FAIL: *8.1 FPS, expected >= 9.5*"),
    ("orin-nx-16gb-simulated", "the run is SIMULATED*never signed"),
    ("orin-nx-16gb-partial", "P0 s001-p0-tensorrt-engine-loads NOT RUN: required check(s) not collected*"),
], ids=["failing-p0", "simulated", "partial"])
def test_a_run_that_is_not_all_pass_on_a_real_orin_is_never_signed(run_copy: Copy, name: str,
                                                                     blocker: str) -> None:
    import fnmatch

    folder = run_copy(name)
    code, out, err = _kit("signoff", str(folder))
    assert code == 1, f"exit {code}, expected 1 (NOT SIGNED):\n{out}{err}"
    data = json.loads((folder / "acceptance.json").read_text())
    assert data["verdict"] == "NOT SIGNED", data["verdict"]
    assert any(fnmatch.fnmatch(b, blocker) for b in data["blockers"]), f"no blocker like {blocker!r}: {data['blockers']}"
    html = (folder / "acceptance.html").read_text()
    assert "NOT SIGNED" in html.split("<h1>")[0], "the verdict is the first thing on the page"


def test_every_criterion_of_a_simulated_run_is_simulated_or_not_run() -> None:
    acceptance = evaluate(load_criteria(), load_run_folder(SETS / "orin-nx-16gb-simulated"))
    statuses = {r.status for r in acceptance.results}
    assert statuses <= {SIMULATED, NOT_RUN}, f"a simulated run produced {statuses - {SIMULATED, NOT_RUN}}"
    fps = next(r for r in acceptance.results if r.criterion.id == "s001-p0-fps")
    assert fps.figures and "not on an Orin" in fps.reason, fps.reason


def test_a_criterion_whose_checks_were_not_collected_is_not_run_never_passed() -> None:
    acceptance = evaluate(load_criteria(), load_run_folder(SETS / "orin-nx-16gb-partial"))
    trt = next(r for r in acceptance.results if r.criterion.id == "s001-p0-tensorrt-engine-loads")
    assert trt.status == NOT_RUN and trt.missing, (trt.status, trt.reason)
    gaps = [r for r in acceptance.results if not r.criterion.checks]
    assert gaps and all(r.status == NOT_RUN and "no check proves it yet" in r.reason for r in gaps), \
        [(r.criterion.id, r.status) for r in gaps]


def test_the_recorded_tampered_report_fails_verification_naming_the_file() -> None:
    code, out, err = _kit("signoff", "--verify", str(SETS / "orin-nx-16gb-tampered"))
    assert code == 1, f"exit {code}, expected 1 (tampered):\n{out}{err}"
    assert "TAMPERED: conformance.xml: changed" in out, out


def test_a_signed_folder_verifies_and_any_changed_byte_names_its_file(run_copy: Copy) -> None:
    folder = run_copy("orin-nx-16gb-all-pass")
    assert _kit("signoff", str(folder))[0] == 0
    code, out, _ = _kit("signoff", "--verify", str(folder))
    assert code == 0 and "verified" in out, out
    for name in ("acceptance.html", "summary.json", "evidence/manifest.json"):
        path = folder / name
        original = path.read_bytes()
        path.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
        code, out, _ = _kit("signoff", "--verify", str(folder))
        assert code == 1 and f"TAMPERED: {name}: changed" in out, f"changing {name}: exit {code}\n{out}"
        path.write_bytes(original)
    (folder / "conformance.xml").unlink()
    code, out, _ = _kit("signoff", "--verify", str(folder))
    assert code == 1 and "TAMPERED: conformance.xml: missing" in out, out


def test_the_statement_is_an_in_toto_test_result_about_the_images(run_copy: Copy) -> None:
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    folder = run_copy("orin-nx-16gb-all-pass")
    _kit("signoff", str(folder))
    raw = json.loads((folder / "evidence" / "statement.intoto.json").read_text())
    statement = Statement.copy_from_pb(json_format.ParseDict(raw, statement_pb2.Statement()))
    statement.validate()
    run = json.loads((folder / "summary.json").read_text())["run"]
    subjects = {s["name"]: s["digest"]["sha256"] for s in raw["subject"]}
    assert subjects == {i["tag"]: i["digest"].removeprefix("sha256:") for i in run["images"]}, subjects
    predicate = raw["predicate"]
    assert predicate["result"] == "PASSED" and "s001-p0-fps" in predicate["passedTests"], predicate["result"]
    names = {c["name"] for c in predicate["configuration"]}
    assert names == {"criteria", "profile", "evidence/manifest.json"}, names


def test_a_folder_without_a_run_identity_is_bad_input_in_one_line(tmp_path: Path) -> None:
    code, out, err = _kit("signoff", str(tmp_path))
    assert code == 2 and err.startswith("error: ") and "no summary.json" in err, (code, err)
    assert len(err.strip().splitlines()) == 1, err


def _with_junit_edit(folder: Path, find: str, replace: str) -> None:
    junit = folder / "conformance.xml"
    text = junit.read_text()
    assert find in text, f"{junit} no longer holds {find!r}; update the test's edit"
    junit.write_text(text.replace(find, replace, 1))


def test_a_failed_check_outside_every_criterion_blocks_the_signature(run_copy: Copy) -> None:
    folder = run_copy("orin-nx-16gb-all-pass")
    _with_junit_edit(folder, "</testsuite>", '<testcase classname="conformance.checks.images.test_image_secrets" '
                     'name="test_no_secret_in_any_layer[gliner2]" time="1.0"><failure message="found a private key'
                     ' in layer 7">found a private key in layer 7</failure></testcase></testsuite>')
    acceptance = evaluate(load_criteria(), load_run_folder(folder))
    assert acceptance.verdict == "NOT SIGNED", "a run with a failed check must never be SIGNED"
    assert any("test_no_secret_in_any_layer[gliner2] FAILED" in b and "found a private key" in b
               for b in acceptance.blockers), acceptance.blockers


def test_a_p0_whose_figure_is_missing_is_not_run_and_blocks(run_copy: Copy) -> None:
    folder = run_copy("orin-nx-16gb-all-pass")
    fps = next(r for r in evaluate(load_criteria(), load_run_folder(folder)).results
               if r.criterion.id == "s001-p0-fps")
    prop = fps.criterion.figure.property if fps.criterion.figure else ""
    text = (folder / "conformance.xml").read_text()
    start = text.index(f'<property name="{prop}"')
    _with_junit_edit(folder, text[start:text.index("/>", start) + 2], "")
    acceptance = evaluate(load_criteria(), load_run_folder(folder))
    fps = next(r for r in acceptance.results if r.criterion.id == "s001-p0-fps")
    assert fps.status == NOT_RUN and "was not recorded" in fps.reason, (fps.status, fps.reason)
    assert acceptance.verdict == "NOT SIGNED", acceptance.blockers
