"""Data of the GLiNER2 service checks: criteria, bad inputs, and the crash signatures logs are matched against."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import field_validator

from conformance import FIXTURES_DIR
from conformance.config import Model, load, load_mapping

GLINER2_FIXTURES = FIXTURES_DIR / "gliner2"
SERVICE_CRITERIA = GLINER2_FIXTURES / "criteria.yaml"
BAD_INPUTS = GLINER2_FIXTURES / "bad_inputs.yaml"
CRASH_SIGNATURES = FIXTURES_DIR / "crash_signatures.yaml"


class CrashSignature(Model):
    """A log text that means a native crash, with what it means and where the knowledge comes from."""

    id: str
    pattern: str  # a regular expression
    meaning: str
    source: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"expected a regular expression ({error})") from None
        return value


class CrashSignatures(Model):
    signatures: tuple[CrashSignature, ...]

    @field_validator("signatures")
    @classmethod
    def _not_empty(cls, value: tuple[CrashSignature, ...]) -> tuple[CrashSignature, ...]:
        if not value:
            raise ValueError("expected at least one signature (an empty list would make the log checks blank)")
        return value


def load_crash_signatures(path: Path = CRASH_SIGNATURES) -> tuple[CrashSignature, ...]:
    """The crash signatures; a missing, empty or malformed file is a ConfigError, never an empty list."""
    return load(path, CrashSignatures).signatures


def load_service_criteria(path: Path = SERVICE_CRITERIA) -> dict[str, Any]:
    return load_mapping(path)


def load_bad_inputs(path: Path = BAD_INPUTS) -> list[dict[str, Any]]:
    return list(load_mapping(path)["cases"])
