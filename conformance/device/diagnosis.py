"""Match text (a probe's stderr, a container log, a log a user pastes) against the known failures of
`fixtures/diagnoses.yaml`: each match names the cause, the fix and the source, with the line that showed it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conformance.config.diagnoses import Diagnosis, load_diagnoses


@dataclass(frozen=True)
class Finding:
    """One known failure found in a text: the first line (1-based) that shows it."""

    diagnosis: Diagnosis
    line_number: int
    line: str

    def describe(self) -> str:
        """One line: id, cause, fix, source."""
        d = self.diagnosis
        return f"{d.id}: {d.cause}; fix: {d.fix} ({d.source})"


def diagnose(text: str, diagnoses: Sequence[Diagnosis] | None = None) -> list[Finding]:
    """Every known failure the text shows, once each, in the order of the lines that first show them."""
    known = load_diagnoses() if diagnoses is None else diagnoses
    compiled = [(d, re.compile(d.pattern)) for d in known]
    found: dict[str, Finding] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for diagnosis, pattern in compiled:
            if diagnosis.id not in found and pattern.search(line):
                found[diagnosis.id] = Finding(diagnosis, number, line.strip())
    return sorted(found.values(), key=lambda f: f.line_number)


def diagnose_all(texts: Iterable[str]) -> list[Finding]:
    """The known failures of several texts (stderr tails, logs), once each."""
    seen: dict[str, Finding] = {}
    for text in texts:
        for finding in diagnose(text):
            seen.setdefault(finding.diagnosis.id, finding)
    return list(seen.values())


def summary(findings: Sequence[Finding]) -> str:
    """The findings as one clause for a failure message ('' when there are none)."""
    if not findings:
        return ""
    return "; diagnosis: " + " | ".join(f.describe() for f in findings)
