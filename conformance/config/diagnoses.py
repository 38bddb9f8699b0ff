"""The known failures (`fixtures/diagnoses.yaml`): log text users meet on Jetson, each with its cause, fix and
source. Probe stderr, container logs and `python -m conformance explain` are matched against it; the entries
marked `crash` are the crash signatures the service and image log checks fail on."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import field_validator, model_validator

from conformance import FIXTURES_DIR
from conformance.config import Model, Regex, load

DIAGNOSES = FIXTURES_DIR / "diagnoses.yaml"


class Diagnosis(Model):
    id: str
    pattern: Regex  # searched line by line
    example: str  # a line users meet that shows this failure (the pattern must match it)
    cause: str
    fix: str
    source: str
    crash: bool = False  # a native crash or ABI break: any log line matching it fails a log check

    @model_validator(mode="after")
    def _example_matches(self) -> Diagnosis:
        if not re.search(self.pattern, self.example):
            raise ValueError(f"{self.id}: the pattern does not match its own example {self.example!r}")
        return self


class Diagnoses(Model):
    diagnoses: tuple[Diagnosis, ...]

    @field_validator("diagnoses")
    @classmethod
    def _unique_and_not_empty(cls, value: tuple[Diagnosis, ...]) -> tuple[Diagnosis, ...]:
        if not value:
            raise ValueError("expected at least one diagnosis (an empty list would make every log look clean)")
        ids = [d.id for d in value]
        if twice := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"expected unique ids, found {twice} more than once")
        return value


@lru_cache(maxsize=4)
def load_diagnoses(path: Path = DIAGNOSES) -> tuple[Diagnosis, ...]:
    """Every known failure; a missing, empty or malformed file is a ConfigError, never an empty tuple."""
    return load(path, Diagnoses).diagnoses
