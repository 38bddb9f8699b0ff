"""JUnit XML: the run's identity as suite properties, reading results back as node ids, strict validation, and
merging many devices' files into one.

pytest writes the file (`--junitxml`, xunit1 so that `record_property` works); the kit adds the suite
properties a consumer needs to tell runs apart (profile, device, SIMULATED ...). Reading and validation go
through junitparser; adding properties uses the standard library so that the suite core needs nothing more.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance.util.files import write_atomically

SUITE_NAME = "orin-conformance"


class JUnitError(ValueError):
    """A JUnit file is missing or not JUnit XML; the message names the file."""


@dataclass
class CaseResult:
    """One testcase of a JUnit file, as pytest's node id and one outcome."""

    nodeid: str
    outcome: str  # passed | failed | error | skipped | xfailed
    message: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    time_s: float = 0.0


@dataclass
class JUnitRun:
    path: Path
    suite_properties: dict[str, str]
    cases: list[CaseResult]


def add_suite_properties(path: Path, properties: dict[str, str]) -> None:
    """Set (add or replace) `properties` on every testsuite of the file, as the first child element."""
    tree = ET.parse(path)
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        holder = suite.find("properties")
        if holder is None:
            holder = ET.Element("properties")
            suite.insert(0, holder)
        for prop in list(holder):
            if prop.get("name") in properties:
                holder.remove(prop)
        for name, value in properties.items():
            ET.SubElement(holder, "property", {"name": name, "value": value})
    write_atomically(path, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")


def _junitparser() -> Any:
    try:
        import junitparser
    except ImportError:
        raise JUnitError("reading JUnit needs junitparser: pip install -e '.[reports]'") from None
    return junitparser


def _suites(path: Path) -> list[Any]:
    jp = _junitparser()
    try:
        xml = jp.JUnitXml.fromfile(str(path))
    except FileNotFoundError:
        raise JUnitError(f"{path}: no such file") from None
    except Exception as error:  # junitparser raises lxml/etree parse errors or JUnitXmlError
        raise JUnitError(f"{path}: not JUnit XML ({str(error).splitlines()[0][:120]})") from None
    return [xml] if isinstance(xml, jp.TestSuite) else list(xml)


def _case_class() -> Any:
    """junitparser's TestCase plus the `file` attribute pytest's xunit1 testcases carry."""
    jp = _junitparser()
    return type("PytestCase", (jp.TestCase,), {"file": jp.Attr()})


def nodeid_of(classname: str, name: str, file: str | None) -> str:
    """pytest's node id of a testcase: 'path/test_x.py::[Class::]test_name[param]'."""
    module = file[:-3].replace("/", ".") if file and file.endswith(".py") else None
    if module is None:  # no file attribute: the classname is the dotted module (a class would be a guess)
        return f"{classname.replace('.', '/')}.py::{name}"
    inner = classname[len(module) + 1:] if classname.startswith(module + ".") else ""
    return "::".join(part for part in (file, inner.replace(".", "::"), name) if part)


def _outcome(case: Any) -> tuple[str, str]:
    for result in case.result:
        kind = type(result).__name__
        message = result.message or ""
        if kind == "Error":
            return "error", message
        if kind == "Failure":
            return "failed", message
        if kind == "Skipped":
            return ("xfailed" if result.type == "pytest.xfail" else "skipped"), message
    return "passed", ""


def read_junit(path: Path) -> JUnitRun:
    """Every testcase of a JUnit file with its outcome, message and properties; the suites' properties."""
    jp = _junitparser()
    case_class = _case_class()
    suite_properties: dict[str, str] = {}
    cases: list[CaseResult] = []
    for suite in _suites(path):
        suite_properties.update({p.name: p.value for p in suite.properties()})
        for case in suite.iterchildren(case_class):
            outcome, message = _outcome(case)
            holder = case.child(jp.Properties)
            props = {p.name: p.value for p in holder} if holder is not None else {}
            cases.append(CaseResult(nodeid_of(case.classname or "", case.name or "", case.file), outcome, message,
                                    props, float(case.time or 0.0)))
    return JUnitRun(path, suite_properties, cases)


#: What strict consumers (Jenkins' xunit schema, GitLab, Azure) require of every testsuite.
REQUIRED_SUITE_PROPERTIES = ("profile", "device", "SIMULATED")


def validate_junit(path: Path, required_properties: tuple[str, ...] = REQUIRED_SUITE_PROPERTIES) -> list[str]:
    """Problems a strict JUnit consumer would reject or misread; empty when the file is sound."""
    problems: list[str] = []
    case_class = _case_class()
    suites = _suites(path)
    if not suites:
        return [f"{path.name}: no testsuite"]
    for suite in suites:
        where = f"{path.name}: testsuite {suite.name!r}"
        if not suite.name or suite.name == "pytest":
            problems.append(f"{where}: expected a name that says what ran (e.g. {SUITE_NAME!r}), found {suite.name!r}")
        if not suite.hostname:
            problems.append(f"{where}: no hostname")
        try:
            datetime.fromisoformat(str(suite.timestamp))
        except ValueError:
            problems.append(f"{where}: timestamp {suite.timestamp!r} is not ISO 8601")
        cases = list(suite.iterchildren(case_class))
        outcomes = [_outcome(c)[0] for c in cases]
        expected = {"tests": len(cases), "failures": outcomes.count("failed"), "errors": outcomes.count("error"),
                    "skipped": outcomes.count("skipped") + outcomes.count("xfailed")}
        for attribute, count in expected.items():
            found = getattr(suite, attribute)
            if found != count:
                problems.append(f"{where}: {attribute}={found}, but it holds {count} such testcase(s)")
        if suite.time is None or float(suite.time) < 0:
            problems.append(f"{where}: no valid time")
        unnamed = [c for c in cases if not c.name or not c.classname]
        if unnamed:
            problems.append(f"{where}: {len(unnamed)} testcase(s) without name or classname")
        names = {p.name for p in suite.properties()}
        missing = [p for p in required_properties if p not in names]
        if missing:
            problems.append(f"{where}: missing properties {missing}")
    return problems


def merge_junit(parts: list[tuple[str, Path | None, dict[str, str]]], out: Path) -> None:
    """One JUnit file from many devices' files: one testsuite per device, named 'SUITE@device', carrying the
    device's properties; a device without a file (unreachable) becomes a suite with one error testcase."""
    jp = _junitparser()
    merged = jp.JUnitXml(SUITE_NAME)
    for device, path, properties in parts:
        sources = _suites(path) if path is not None else []
        suite = jp.TestSuite(f"{SUITE_NAME}@{device}")
        suite.hostname = next((s.hostname for s in sources if s.hostname), None) or device
        suite.timestamp = next((s.timestamp for s in sources if s.timestamp), None) or datetime.now().astimezone(
            ).isoformat(timespec="seconds")
        for name, value in {**{p.name: p.value for s in sources for p in s.properties()}, **properties}.items():
            suite.add_property(name, value)
        for source in sources:
            for case in source:
                suite.add_testcase(case)
        if path is None:
            case = jp.TestCase("report", classname=f"fleet.{device}")
            problem = properties.get("problem") or f"{device}: no report folder or no JUnit file"
            case.result = [jp.Error(problem, properties.get("fleet_status", "unreachable"))]
            suite.add_testcase(case)
        suite.update_statistics()
        merged.add_testsuite(suite)
    merged.update_statistics()
    out.parent.mkdir(parents=True, exist_ok=True)
    merged.write(str(out), pretty=True)
