"""fixtures/acceptance/criteria.yaml stays true to the seeds and to the suite: every criterion of seed 001 is
there, every check it names is collected by pytest (a renamed check would otherwise turn a criterion NOT RUN
for good), and every threshold it names exists in the device profiles."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conformance import SOURCE_ROOT
from conformance.config.acceptance import load_criteria
from conformance.config.profiles import Thresholds
from conformance.reports.acceptance import pattern_matches

CRITERIA = load_criteria()
#: seed 001 "Acceptance Criteria" (8 P0, 7 P1, 6 P2) and "Success Metrics" (6 quantitative goals)
SEED_001 = {"seed 001 'Acceptance Criteria' P0": 8, "seed 001 'Acceptance Criteria' P1": 7,
            "seed 001 'Acceptance Criteria' P2": 6, "seed 001 'Success Metrics'": 6}


def test_every_criterion_and_goal_of_seed_001_is_there() -> None:
    counts = {source: sum(c.source == source for c in CRITERIA.criteria) for source in SEED_001}
    assert counts == SEED_001, f"criteria per part of seed 001: {counts}, expected {SEED_001}"
    p0 = [c for c in CRITERIA.criteria if c.source.endswith("P0")]
    assert all(c.priority == "P0" for c in p0), "seed 001's P0 criteria block a signature"


def test_the_rules_of_seeds_000_003_and_004_are_there() -> None:
    seeds = {c.source.split("'")[0].strip() for c in CRITERIA.criteria}
    assert {"seed 000", "seed 003", "seed 004"} <= seeds, f"rules present for {sorted(seeds)}"


def test_every_threshold_named_is_a_profile_threshold() -> None:
    known = set(Thresholds.model_fields)
    named = {c.id: c.figure.threshold.profile for c in CRITERIA.criteria if c.figure and c.figure.threshold.profile}
    unknown = {cid: key for cid, key in named.items() if key not in known}
    assert not unknown, f"criteria name thresholds no profile has: {unknown}; expected keys of {sorted(known)}"


@pytest.fixture(scope="module")
def collected() -> list[str]:
    files = sorted({p.split("::")[0] for c in CRITERIA.criteria for p in c.checks})
    present = [f for f in files if (SOURCE_ROOT / f).is_file()]
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             "--reports-dir", str(SOURCE_ROOT / "build" / "criteria-collect"), *present],
                            cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=600, check=False)
    return [line.strip() for line in result.stdout.splitlines() if "::" in line and " " not in line.strip()]


def test_every_check_a_criterion_names_is_collected(collected: list[str]) -> None:
    stale = [f"{c.id}: {p}" for c in CRITERIA.criteria for p in c.checks
             if not any(pattern_matches(p, node) for node in collected)]
    assert not stale, (f"{len(stale)} check(s) named in fixtures/acceptance/criteria.yaml are not collected by "
                       f"pytest: {stale}; expected each to name a real check (was it renamed?)")
