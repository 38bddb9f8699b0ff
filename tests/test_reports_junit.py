"""JUnit XML from the kit's runs satisfies strict consumers: a suite name that says what ran, counts that match
the testcases, an ISO 8601 timestamp, a hostname, and the properties profile, device and SIMULATED; checked with
junitparser. The validator itself fails files that break those rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import SOURCE_ROOT
from conformance.reports.junit import add_suite_properties, nodeid_of, read_junit, validate_junit

pytest.importorskip("junitparser", reason="JUnit validation needs junitparser: pip install -e '.[reports]'")

SAMPLE = '''
import pytest

def test_passes(record_property):
    record_property("tiled_fps", 10.4)

def test_fails():
    assert 1 == 2, "found 1, expected 2"

def test_skips():
    pytest.skip("gpu: no CUDA device")

class TestGroup:
    def test_in_a_class(self):
        pass
'''


def _run(folder: Path, source: str, *args: str) -> Path:
    """A pytest session with the kit's plugin and ini, rooted in folder (as a user's tree would be)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_sample.py").write_text(source)
    xml = folder / "out.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-c", str(SOURCE_ROOT / "pyproject.toml"),
                    "--rootdir", str(folder), str(folder / "test_sample.py"), f"--junitxml={xml}",
                    f"--reports-dir={folder / 'reports'}", "-p", "no:cacheprovider", "-q", *args],
                   cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    return xml


@pytest.fixture(scope="module")
def recorded_junit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("junit"), SAMPLE)


@pytest.fixture
def junit_of_a_run(recorded_junit: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(recorded_junit, tmp_path / "out.xml"))


def test_a_run_of_the_suite_writes_junit_strict_consumers_accept(junit_of_a_run: Path) -> None:
    problems = validate_junit(junit_of_a_run)
    assert problems == [], f"the kit's own JUnit is not sound: {problems}"
    run = read_junit(junit_of_a_run)
    assert run.suite_properties["profile"] == "generic-host", run.suite_properties
    assert run.suite_properties["SIMULATED"] == "false" and run.suite_properties["device"].startswith("none ("), \
        run.suite_properties
    outcomes = {c.nodeid.split("::", 1)[1]: c.outcome for c in run.cases}
    assert outcomes == {"test_passes": "passed", "test_fails": "failed", "test_skips": "skipped",
                        "TestGroup::test_in_a_class": "passed"}, outcomes
    passed = next(c for c in run.cases if c.nodeid.endswith("test_passes"))
    assert passed.properties == {"tiled_fps": "10.4"}, passed.properties


def test_a_simulated_run_says_so_in_the_suite_and_every_testcase(tmp_path: Path) -> None:
    xml = _run(tmp_path, "def test_one():\n    pass\n", "--simulate-device=orin-nx-16gb")
    run = read_junit(xml)
    assert run.suite_properties["SIMULATED"].startswith("true: "), run.suite_properties["SIMULATED"]
    assert run.suite_properties["profile"] == "orin-nx-16gb", run.suite_properties["profile"]
    assert all("SIMULATED" in c.properties for c in run.cases), [c.properties for c in run.cases]


@pytest.mark.parametrize("edit, problem", [
    (('name="orin-conformance"', 'name="pytest"'), "expected a name that says what ran"),
    (('failures="1"', 'failures="0"'), "failures=0, but it holds 1"),
    (('hostname="', 'hostnam="'), "no hostname"),
    (("timestamp=\"", "timestamp=\"yesterday"), "is not ISO 8601"),
    (('<property name="profile"', '<property name="profil"'), "missing properties ['profile']"),
], ids=["default-name", "wrong-count", "no-hostname", "bad-timestamp", "no-profile"])
def test_the_validator_rejects_what_strict_consumers_reject(junit_of_a_run: Path, tmp_path: Path,
                                                            edit: tuple[str, str], problem: str) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text(junit_of_a_run.read_text().replace(*edit, 1))
    problems = validate_junit(broken)
    assert any(problem in p for p in problems), f"expected a problem like {problem!r}, got {problems}"


def test_suite_properties_are_replaced_not_duplicated(junit_of_a_run: Path) -> None:
    add_suite_properties(junit_of_a_run, {"profile": "orin-nx-16gb"})
    text = junit_of_a_run.read_text()
    assert text.count('name="profile"') == 1 and 'value="orin-nx-16gb"' in text, text[:600]


def test_node_ids_come_back_from_classname_and_file() -> None:
    assert nodeid_of("conformance.checks.tiled.test_x", "test_a[p]", "conformance/checks/tiled/test_x.py") == \
        "conformance/checks/tiled/test_x.py::test_a[p]"
    assert nodeid_of("tests.test_y.TestK", "test_m", "tests/test_y.py") == "tests/test_y.py::TestK::test_m"
    assert nodeid_of("tests.test_y", "test_m", None) == "tests/test_y.py::test_m"
