"""Known deviations (`fixtures/deviations.yaml`): a check that cannot hold yet on some profiles, each with its
reason and the issue that removes it. The plugin marks those checks strict xfail there: they still run, a
failure is reported as the known deviation, and an unexpected pass fails the run (the entry is stale)."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from conformance import FIXTURES_DIR
from conformance.config import Model, load

DEVIATIONS = FIXTURES_DIR / "deviations.yaml"


class Deviation(Model):
    #: check id relative to conformance/checks: 'area/test_x.py::test_name' or with '[param]'
    check: str
    #: profiles it applies to (empty: all)
    profiles: tuple[str, ...] = ()
    reason: str
    #: the issue whose work removes it
    issue: int

    @field_validator("check")
    @classmethod
    def _node_id(cls, value: str) -> str:
        if "::" not in value:
            raise ValueError(f"expected a check id like 'area/test_x.py::test_name', found {value!r}")
        return value

    def applies(self, node: str, profile: str) -> bool:
        """node: a check id relative to conformance/checks (with its parameters)."""
        matches = node == self.check or (("[" not in self.check) and node.startswith(self.check + "["))
        return matches and (not self.profiles or profile in self.profiles)


class Deviations(Model):
    deviations: tuple[Deviation, ...] = ()


def load_deviations(path: Path = DEVIATIONS) -> tuple[Deviation, ...]:
    return load(path, Deviations).deviations
