"""Regression limits of the benchmark comparison (`fixtures/benchmarks/regression.yaml`): a default, overrides
per device profile, and overrides per benchmark (a `*` pattern over pytest-benchmark's `fullname`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field

from conformance import FIXTURES_DIR
from conformance.config import Model, load

REGRESSION = FIXTURES_DIR / "benchmarks" / "regression.yaml"

Factor = Annotated[float, Field(gt=1.0, strict=False)]
Alpha = Annotated[float, Field(gt=0.0, lt=1.0)]
Rounds = Annotated[int, Field(ge=2)]


class Override(Model):
    factor: Factor | None = None
    alpha: Alpha | None = None
    min_rounds: Rounds | None = None


class Defaults(Model):
    #: a change counts only when the ratio of medians passes this factor (either way)
    factor: Factor
    #: ... and a two-sided Mann-Whitney U test on the raw rounds gives p below alpha
    alpha: Alpha
    #: fewer rounds than this in either run: no significance test is possible, the change is 'noisy'
    min_rounds: Rounds


class BenchmarkRule(Override):
    match: str
    profiles: tuple[str, ...] = ()
    why: str


@dataclass(frozen=True)
class Limits:
    factor: float
    alpha: float
    min_rounds: int
    source: str  # which rule set them, for the report


class RegressionPolicy(Model):
    defaults: Defaults
    profiles: dict[str, Override] = {}
    benchmarks: tuple[BenchmarkRule, ...] = ()

    def limits(self, benchmark: str, profile: str) -> Limits:
        """The limits for one benchmark (its `fullname`) on one profile: defaults < profile < benchmark rule."""
        values = self.defaults.model_dump()
        source = "defaults"
        if (override := self.profiles.get(profile)) is not None:
            values.update({k: v for k, v in override.model_dump().items() if v is not None})
            source = f"profile {profile}"
        for rule in self.benchmarks:
            if (not rule.profiles or profile in rule.profiles) and matches(rule.match, benchmark):
                values.update({k: v for k, v in rule.model_dump(include={"factor", "alpha", "min_rounds"}).items()
                               if v is not None})
                source = f"rule {rule.match!r}"
                break
        return Limits(float(values["factor"]), float(values["alpha"]), int(values["min_rounds"]), source)


def matches(pattern: str, name: str) -> bool:
    """`*` matches any text; everything else, `[` included (pytest ids carry brackets), is literal."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def load_policy(path: Path = REGRESSION) -> RegressionPolicy:
    return load(path, RegressionPolicy)
