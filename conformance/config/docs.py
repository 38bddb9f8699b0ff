"""What the usage documentation must show (`fixtures/docs/usage.yaml`): per topic, commands of which the
README's code blocks must show at least one (seed 001 P0 'Documentation includes basic usage instructions')."""

from __future__ import annotations

from pathlib import Path

from conformance import FIXTURES_DIR
from conformance.config import Model, load

USAGE = FIXTURES_DIR / "docs" / "usage.yaml"


class UsageCriteria(Model):
    #: topic -> commands; a code block of the README must start a line with one of them
    topics: dict[str, tuple[str, ...]]


def load_usage(path: Path = USAGE) -> UsageCriteria:
    return load(path, UsageCriteria)
