"""Acceptance: each criterion of fixtures/acceptance/criteria.yaml judged from one run's JUnit and identity.

Per criterion, in this order:
- FAIL when a check that proves it failed or errored, ran as a known deviation (xfail), or passed with a
  figure on the wrong side of its threshold;
- NOT RUN when one of its checks was not collected in the run, or no check proves it yet (the lesson of
  Kubernetes conformance: a certification run may not skip a required test, and no result is never a pass);
- SKIPPED (with the reason) when a check skipped;
- SIMULATED when everything passed on recorded device data;
- PASS otherwise.
A criterion with a threshold whose figure no check recorded is NOT RUN. The verdict is SIGNED only when every P0
criterion PASSED on a real Orin (not simulated, nothing skipped or missing), no check of the run failed or
errored (mapped to a criterion or not), the JUnit file is sound and the source tree was clean; otherwise NOT
SIGNED with what blocks it.
"""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.config import ConfigError
from conformance.config.acceptance import Criteria, Criterion, Threshold
from conformance.config.profiles import PROFILES_DIR, ProfileError, load_profiles
from conformance.docker.images import NOT_APPLICABLE
from conformance.reports.junit import CaseResult, JUnitError, JUnitRun, read_junit, validate_junit

PASS, FAIL, SKIPPED, SIMULATED, NOT_RUN = "PASS", "FAIL", "SKIPPED", "SIMULATED", "NOT RUN"
SIGNED, NOT_SIGNED = "SIGNED", "NOT SIGNED"
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


class RunFolderError(ValueError):
    """A report folder lacks what a sign-off needs; the message names the file."""


@dataclass
class RunFolder:
    """One run's reports: its identity (summary.json `run`) and its JUnit file."""

    path: Path
    run: dict[str, Any]
    junit: JUnitRun
    junit_problems: list[str]


def load_run_folder(path: Path) -> RunFolder:
    summary = path / "summary.json"
    if not summary.is_file():
        raise RunFolderError(f"{path}: no summary.json; expected the --reports-dir of a conformance run")
    try:
        run = json.loads(summary.read_text(encoding="utf-8")).get("run")
    except (OSError, json.JSONDecodeError, AttributeError) as error:
        raise RunFolderError(f"{summary}: not the kit's summary JSON ({error})") from None
    if not isinstance(run, dict):
        raise RunFolderError(f"{summary}: no 'run' identity; expected a summary written by this kit's plugin")
    junit_name = run.get("junit")
    if not junit_name:
        raise RunFolderError(f"{summary}: the run wrote no JUnit file; run pytest with --junitxml")
    junit_path = Path(junit_name) if Path(junit_name).is_absolute() else path / junit_name
    try:
        junit = read_junit(junit_path)
        problems = validate_junit(junit_path)
    except JUnitError as error:
        raise RunFolderError(str(error)) from None
    return RunFolder(path, run, junit, problems)


def pattern_matches(pattern: str, nodeid: str) -> bool:
    """`*` matches any text; everything else, brackets included, is literal."""
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), nodeid) is not None


@dataclass
class CriterionResult:
    criterion: Criterion
    status: str
    reason: str
    cases: list[CaseResult] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    threshold: str = ""


@dataclass
class Acceptance:
    verdict: str
    blockers: list[str]
    results: list[CriterionResult]
    folder: RunFolder


def resolve_threshold(threshold: Threshold, profile: str | None, profiles_dir: Path) -> tuple[float | None, str]:
    """The threshold's number and how it reads, e.g. (9.5, '>= 9.5 (profile orin-nx-16gb tiled_fps_min)')."""
    if threshold.value is not None:
        return threshold.value, f"{threshold.op} {threshold.value:g}"
    try:
        thresholds = load_profiles(profiles_dir)[str(profile)].thresholds
    except (KeyError, ProfileError, ConfigError):
        return None, f"{threshold.op} the {threshold.profile} of profile {profile!r} (not found)"
    value = float(getattr(thresholds, str(threshold.profile))) * threshold.scale
    scaled = f" x {threshold.scale:g}" if threshold.scale != 1 else ""
    return value, f"{threshold.op} {value:g} (profile {profile} {threshold.profile}{scaled})"


def judge(criterion: Criterion, cases: list[CaseResult], run: dict[str, Any], profiles_dir: Path) -> CriterionResult:
    if not criterion.checks:
        return CriterionResult(criterion, NOT_RUN, f"no check proves it yet: {criterion.gap}")
    matched = {p: [c for c in cases if pattern_matches(p, c.nodeid)] for p in criterion.checks}
    mine = [c for found in matched.values() for c in found]
    missing = [p for p, found in matched.items() if not found]
    result = CriterionResult(criterion, PASS, "", mine, missing)
    value: float | None = None
    if (figure := criterion.figure) is not None:
        value, result.threshold = resolve_threshold(figure.threshold, run.get("profile"), profiles_dir)
        for case in mine:
            number = _NUMBER.match(case.properties.get(figure.property, ""))
            if number:  # a figure from a recording reads "9.7 (SIMULATED)"
                result.figures[case.nodeid] = float(number[0])
    bad = [c for c in mine if c.outcome in ("failed", "error", "xfailed")]
    if bad:
        words = {"failed": "FAILED", "error": "ERROR in setup/teardown", "xfailed": "known deviation"}
        result.status = FAIL
        result.reason = "; ".join(f"{c.nodeid} {words[c.outcome]}: {c.message.splitlines()[0] if c.message else ''}"
                                  for c in bad[:3])
        return result
    if missing:
        result.status = NOT_RUN
        result.reason = f"required check(s) not collected in this run: {', '.join(missing)}"
        return result
    # A check that does not apply to one image (e.g. a service setting on the batch image) skips saying so;
    # that is no gap, as long as the check ran where it applies.
    not_applicable = [c for c in mine if c.outcome == "skipped" and c.message.startswith(NOT_APPLICABLE)]
    skipped = [c for c in mine if c.outcome == "skipped" and c not in not_applicable]
    if not_applicable and len(not_applicable) == len(mine):
        skipped = not_applicable
    if skipped:
        result.status = SKIPPED
        reasons: dict[str, list[str]] = {}
        for case in skipped:
            reasons.setdefault(case.message, []).append(case.nodeid.split("::")[-1])
        result.reason = "; ".join(f"{', '.join(names[:3])}{' ...' if len(names) > 3 else ''} skipped: {message}"
                                  for message, names in reasons.items())
        return result
    if figure is not None:
        compare = _OPS[figure.threshold.op]
        wrong = {n: v for n, v in result.figures.items() if value is not None and not compare(v, value)}
        if wrong:
            result.status = FAIL
            result.reason = (f"{figure.property} " + ", ".join(f"{v:g} {figure.unit} ({n})" for n, v in wrong.items())
                             + f", expected {result.threshold} {figure.unit}")
            return result
    if figure is not None and not result.figures:
        result.status = NOT_RUN
        result.reason = (f"its figure {figure.property} was not recorded by {len(mine)} passing check(s); a "
                         "criterion with a threshold is proven by its figure, never by a pass alone")
        return result
    shown = ", ".join(f"{v:g}" for v in result.figures.values())
    figure_note = f"; {criterion.figure.property} {shown} {criterion.figure.unit} {result.threshold}" if (
        criterion.figure and result.figures) else ("; figure not recorded" if criterion.figure else "")
    if not_applicable:
        figure_note += f"; not applicable to {len(not_applicable)} of them"
    if run.get("simulated"):
        result.status = SIMULATED
        result.reason = f"{len(mine)} check(s) passed on recorded device data, not on an Orin{figure_note}"
    else:
        result.reason = f"{len(mine)} check(s) passed{figure_note}"
    return result


def evaluate(criteria: Criteria, folder: RunFolder, profiles_dir: Path = PROFILES_DIR) -> Acceptance:
    run = folder.run
    results = [judge(c, folder.junit.cases, run, profiles_dir) for c in criteria.criteria]
    blockers: list[str] = []
    device = run.get("device") or {}
    if run.get("simulated"):
        blockers.append(f"the run is SIMULATED (device data read from {run.get('device_root')}): a simulated run "
                        "is never signed")
    if not device.get("is_jetson") or not run.get("jetson_profile"):
        blockers.append(f"not run on an Orin (device {device.get('model') or 'none'}, profile {run.get('profile')})")
    source = run.get("source") or {}
    if source.get("clean") is not True:
        blockers.append(f"source tree not clean at {source.get('revision')}: changed {source.get('changed', [])[:5]}"
                        if source.get("clean") is False else "source revision unknown (not a git checkout)")
    if folder.junit_problems:
        blockers.append("JUnit file not sound: " + "; ".join(folder.junit_problems[:3]))
    for result in results:
        if result.criterion.priority == "P0" and result.status != PASS:
            blockers.append(f"P0 {result.criterion.id} {result.status}: {result.reason}")
    # Every check of the run counts: a failed one blocks whatever criterion maps it, or none (a private key in
    # an image layer is a failed release whether or not a criterion names that check).
    named = {c.nodeid for r in results if r.criterion.priority == "P0" and r.status != PASS for c in r.cases}
    for case in folder.junit.cases:
        if case.outcome in ("failed", "error") and case.nodeid not in named:
            where = ", ".join(r.criterion.id for r in results if case in r.cases) or "outside every criterion"
            first = case.message.splitlines()[0] if case.message else ""
            blockers.append(f"{case.nodeid} {case.outcome.upper()} ({where}): {first[:300]}")
    return Acceptance(SIGNED if not blockers else NOT_SIGNED, blockers, results, folder)
