"""Acceptance criteria (`fixtures/acceptance/criteria.yaml`): what a release owner signs off, each criterion
mapped to the checks that prove it and, where it is a number, the figure and its threshold."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator

from conformance import FIXTURES_DIR
from conformance.config import Model, load

CRITERIA = FIXTURES_DIR / "acceptance" / "criteria.yaml"
#: Criterion ids become KCIDB test paths (`acceptance.<id>`): letters, digits, '-' and '_' only.
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class Threshold(Model):
    """`op` against a literal `value`, or against the profile's threshold `profile` times `scale`."""

    op: Literal[">=", "<=", ">", "<"]
    value: float | None = None
    profile: str | None = None
    scale: float = 1.0

    @model_validator(mode="after")
    def _one_source(self) -> Threshold:
        if (self.value is None) == (self.profile is None):
            raise ValueError("a threshold needs exactly one of 'value' or 'profile' (a key of the profile's "
                             "thresholds)")
        return self


class Figure(Model):
    """The measured figure: a JUnit property a check records with `record_property`."""

    property: str
    unit: str
    threshold: Threshold


class Criterion(Model):
    id: str
    #: where the criterion comes from, cited in one line: "seed 001 'Acceptance Criteria' P0"
    source: str
    #: P0 criteria block a signature; P1 and P2 are reported and never block
    priority: Literal["P0", "P1", "P2"]
    kind: Literal["criterion", "metric", "rule"]
    text: str
    #: pytest node ids (from the rootdir; `*` matches anything, nothing else is special) that prove it
    checks: tuple[str, ...] = ()
    #: why no check proves it yet (the criterion is NOT RUN until one does)
    gap: str | None = None
    figure: Figure | None = None

    @field_validator("id")
    @classmethod
    def _id_is_a_path_part(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"expected letters, digits, '-' or '_', found {value!r}")
        return value

    @field_validator("checks")
    @classmethod
    def _node_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if "::" not in v]
        if bad:
            raise ValueError(f"expected node ids like 'conformance/checks/area/test_x.py::test_name', found {bad}")
        return value

    @model_validator(mode="after")
    def _checks_or_gap(self) -> Criterion:
        if not self.checks and not self.gap:
            raise ValueError(f"criterion {self.id}: give the checks that prove it, or the 'gap' saying why none does")
        return self


class Criteria(Model):
    version: Literal[1]
    criteria: tuple[Criterion, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> Criteria:
        ids = [c.id for c in self.criteria]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"criterion ids must be unique, found {twice} more than once")
        return self


def load_criteria(path: Path = CRITERIA) -> Criteria:
    return load(path, Criteria)
