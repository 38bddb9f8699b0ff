"""Every conformance check can fail: each known-bad of fixtures/selfproof/ makes the checks it names FAIL,
with their messages, and every check of conformance/checks is named by at least one known-bad."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import CHECKS_DIR, SOURCE_ROOT
from conformance.config.selfproof import KnownBad, load_selfproof_table
from conformance.selfproof import proof_failures, resolved

TABLE = load_selfproof_table()


def _marks(bad: KnownBad) -> list[pytest.MarkDecorator]:
    return [getattr(pytest.mark, tier) for tier in bad.needs]


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(b), id=n) for n, b in TABLE.items()])
def test_known_bad_fails_the_checks_it_names(name: str, run_checks, tmp_path: Path) -> None:
    bad = TABLE[name]
    nodes = [str(CHECKS_DIR / check) for check in bad.fails]
    with resolved(bad.args, tmp_path / "inputs") as args:
        result = run_checks(*nodes, "--benchmark-disable", "--ignore-deviations", *args)
    summary = tmp_path / "reports" / "summary.json"
    assert summary.is_file(), f"known-bad {name}: the run wrote no summary; its output:\n{result.stdout.str()[-3000:]}"
    problems = proof_failures(name, bad, json.loads(summary.read_text())["results"])
    assert not problems, "\n".join(problems)


def collected_checks() -> list[str]:
    """Function-level ids of every conformance check (relative to conformance/checks)."""
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             "--rootdir", str(SOURCE_ROOT), "-c", str(SOURCE_ROOT / "pyproject.toml"),
                             str(CHECKS_DIR)], capture_output=True, text=True, timeout=300, cwd=SOURCE_ROOT,
                            check=False)
    ids = {line.split("[", 1)[0].split("conformance/checks/", 1)[-1]
           for line in result.stdout.splitlines() if "::" in line}
    assert result.returncode == 0 and ids, f"collecting the checks failed: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return sorted(ids)


def test_every_check_has_a_known_bad_that_fails_it(record_property) -> None:
    checks = collected_checks()
    proved = {check.split("[", 1)[0] for bad in TABLE.values() for check in bad.fails}
    missing = [check for check in checks if check not in proved]
    unknown = sorted(proved - set(checks))
    record_property("checks", len(checks))
    record_property("checks_with_a_proof", len(checks) - len(missing))
    SELFPROOF_COUNT.update(checks=len(checks), proved=len(checks) - len(missing))
    assert not unknown, f"fixtures/selfproof/ names checks that do not exist: {unknown}"
    assert not missing, (
        f"{len(missing)} of {len(checks)} checks have no known-bad in fixtures/selfproof/: "
        + ", ".join(missing) + "; expected one each (a check that cannot fail is a defect)")


#: Filled by the coverage test; tests/conftest.py prints it at the end of the run.
SELFPROOF_COUNT: dict[str, int] = {}


@pytest.mark.parametrize("pattern", ["*is 1.2* GB, over its budget of 1.2 GB*", "*overhead 81? MB*",
                                     "*warm p95 8?? ms*", "*RSS grows 19?.? MB*"])
def test_a_pattern_that_keeps_a_measured_figure_in_part_is_refused(pattern: str, tmp_path: Path) -> None:
    from conformance.config import ConfigError

    (tmp_path / "area.yaml").write_text(
        "known_bads:\n  k:\n    why: w\n    fails:\n"
        f"      images/test_image_bench.py::test_image_size_within_its_budget: {json.dumps(pattern)}\n")
    with pytest.raises(ConfigError, match="keeps a figure in part"):
        load_selfproof_table(tmp_path)


def test_a_figure_the_input_fixes_may_stand_whole_in_a_pattern(tmp_path: Path) -> None:
    (tmp_path / "area.yaml").write_text(
        "known_bads:\n  k:\n    why: w\n    fails:\n"
        '      images/test_image_bench.py::test_image_size_within_its_budget: "*GB, over its budget of 1.2 GB*"\n')
    assert load_selfproof_table(tmp_path)["k"].fails
