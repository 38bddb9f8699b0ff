"""Verdicts: pure functions of (facts, profile, criteria) that pass or fail with what was found, what was
expected, the fix and the source, plus the known failures the facts' stderr and logs show.

A verdict never knows whether its facts were probed on this Orin or replayed from a recording, so every
verdict is proven in CI on recordings of good and broken devices (fixtures/devices/, fixtures/selfproof/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from conformance.device.diagnosis import Finding, diagnose_all, summary


@dataclass(frozen=True)
class Verdict:
    passed: bool
    found: str
    expected: str
    fix: str = ""
    source: str = ""
    findings: tuple[Finding, ...] = ()
    figures: dict[str, float] = field(default_factory=dict)  # what was measured, for the report

    @property
    def message(self) -> str:
        """One message: found, expected, fix, source, and the known failures the evidence shows."""
        text = f"found {self.found}; expected {self.expected}"
        if not self.passed and self.fix:
            text += f"; fix: {self.fix}"
        if self.source:
            text += f" ({self.source})"
        return text + summary(self.findings)


def verdict(passed: bool, found: str, expected: str, fix: str, source: str, evidence: Iterable[str] = (),
            figures: dict[str, float] | None = None) -> Verdict:
    """A verdict whose failure carries the known failures found in `evidence` (stderr tails, logs)."""
    findings = tuple(diagnose_all(evidence)) if not passed else ()
    return Verdict(passed, found, expected, fix, source, findings, dict(figures or {}))


def listing(items: Sequence[str], empty: str = "none") -> str:
    return ", ".join(items) if items else empty


#: The checks' `judge` fixture: run a verdict (skipping where it does not apply) and return it.
Judge = Callable[[Callable[[], Verdict]], Verdict]
