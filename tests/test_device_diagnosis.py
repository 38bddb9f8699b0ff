"""The known failures (fixtures/diagnoses.yaml): each is found in the line users meet, once, with its cause, fix
and source; a broken data file is a one-line error; the crash signatures the log checks use are its crash
entries; docs/failures.md shows exactly the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import SOURCE_ROOT
from conformance.cli.explain import table
from conformance.config import ConfigError
from conformance.config.diagnoses import Diagnosis, load_diagnoses
from conformance.config.service import load_crash_signatures
from conformance.device.diagnosis import diagnose, diagnose_all, summary

DIAGNOSES = load_diagnoses()


@pytest.mark.parametrize("diagnosis", DIAGNOSES, ids=[d.id for d in DIAGNOSES])
def test_each_known_failure_is_found_in_the_line_users_meet(diagnosis: Diagnosis) -> None:
    found = diagnose(f"some output\n{diagnosis.example}\nmore output\n")
    assert [f.diagnosis.id for f in found] == [diagnosis.id], (
        f"{diagnosis.example!r} diagnosed as {[f.diagnosis.id for f in found]}, expected only {diagnosis.id}")
    assert found[0].line_number == 2 and found[0].line == diagnosis.example.strip()


def test_a_failure_seen_twice_is_reported_once_in_order_of_first_sight() -> None:
    log = "CUDA available: False\nfree(): invalid pointer\nCUDA available: False\n"
    assert [f.diagnosis.id for f in diagnose(log)] == ["cuda-unavailable", "free-invalid-pointer"]
    assert [f.diagnosis.id for f in diagnose_all(["free(): invalid pointer", log])] == ["free-invalid-pointer",
                                                                                       "cuda-unavailable"]
    assert summary([]) == "" and summary(diagnose(log)).startswith("; diagnosis: cuda-unavailable: ")


def test_crash_signatures_are_the_crash_entries() -> None:
    ids = {s.id for s in load_crash_signatures()}
    assert ids == {d.id for d in DIAGNOSES if d.crash}, ids
    assert {"free-invalid-pointer", "numpy1-module-on-numpy2", "numpy-array-api-missing"} <= ids, ids
    assert "cuda-unavailable" not in ids, "a CPU host's log must not fail the service log check"


@pytest.mark.parametrize(("entry", "message"), [
    ("  - {id: a, pattern: '(', example: x, cause: c, fix: f, source: s}", "expected a regular expression"),
    ("  - {id: a, pattern: 'abc', example: xyz, cause: c, fix: f, source: s}",
     "a: the pattern does not match its own example 'xyz'"),
    ("  - {id: a, pattern: x, example: x, cause: c, fix: f, source: s}\n"
     "  - {id: a, pattern: y, example: y, cause: c, fix: f, source: s}", "expected unique ids, found \\['a'\\]"),
], ids=["bad-regex", "example-not-matched", "duplicate-id"])
def test_a_broken_diagnoses_file_is_a_one_line_error(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "diagnoses.yaml"
    path.write_text(f"diagnoses:\n{entry}\n")
    with pytest.raises(ConfigError, match=f"{path}: diagnoses.*{message}"):
        load_diagnoses(path)
    path.write_text("diagnoses: []\n")
    with pytest.raises(ConfigError, match="expected at least one diagnosis"):
        load_diagnoses(path)


def test_docs_list_exactly_the_known_failures() -> None:
    doc = (SOURCE_ROOT / "docs" / "failures.md").read_text()
    assert table() in doc, ("docs/failures.md does not hold the table of fixtures/diagnoses.yaml; regenerate it with "
                            "`python -m conformance explain --list`")
