"""Reports: a per-session summary (what passed, failed, was skipped and why) as terminal text, JSON and Markdown.

JUnit XML comes from pytest itself (`--junitxml`); this adds what a release owner reads first, and the run's
identity (`run`: device, profile, revision, images; see session.py) that the sign-off and fleet reports read.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conformance.config.profiles import ProfileChoice, ProfileError
from conformance.reports.session import RunRecorder
from conformance.tiers import Capabilities
from conformance.util.files import write_atomically


@dataclass
class CheckResult:
    nodeid: str
    outcome: str  # passed | failed | error | skipped | xfailed | xpassed
    detail: str = ""  # the first line of the failure, or the skip/xfail reason
    duration_s: float = 0.0
    message: str = ""  # the whole failure message (what the self-proofs match against)
    simulated: bool = False  # device facts replayed from a recording (--simulate-device): not measured on an Orin


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(getattr(report, "wasxfail", "") or longrepr or "")


def _failure_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    return (crash.message if crash is not None else str(report.longrepr)).strip()


class ConformanceReport:
    """A pytest plugin object: collects outcomes, then prints and writes the summary."""

    def __init__(self, config: pytest.Config, choose_profile: Callable[[], ProfileChoice],
                 capabilities: Capabilities) -> None:
        self.config = config
        self.choose_profile = choose_profile
        self.capabilities = capabilities
        self.results: dict[str, CheckResult] = {}
        # the run's identity (device, profile, revision, images) for summary.json, JUnit and benchmark runs
        self.recorder = RunRecorder(config, choose_profile, capabilities)
        config.pluginmanager.register(self.recorder, "conformance-run")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.results.setdefault(report.nodeid, CheckResult(report.nodeid, "passed",
                                                                    simulated=self.capabilities.simulated))
        result.duration_s += report.duration
        if hasattr(report, "wasxfail"):
            result.outcome, result.detail = ("xfailed" if report.skipped else "xpassed"), _skip_reason(report)
        elif report.skipped:
            result.outcome, result.detail = "skipped", _skip_reason(report)
        elif report.failed:
            result.outcome = "failed" if report.when == "call" else "error"
            result.message = _failure_message(report)
            result.detail = result.message.splitlines()[0] if result.message else ""

    def _header(self) -> list[str]:
        capabilities = self.capabilities
        try:
            choice = self.choose_profile()
            lines = [f"profile: {choice.profile.name} ({choice.reason})"]
        except ProfileError as error:
            lines = [f"profile: none ({error})"]
        if capabilities.simulated:
            lines.append(f"SIMULATED: device data from {capabilities.device_source}, not measured on an Orin")
        return lines

    def summary_lines(self) -> list[str]:
        counts = Counter(r.outcome for r in self.results.values())
        lines = [*self._header(), ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))]
        # every result of a simulated run says so on its own line, not only in the header
        lines += [f"SIMULATED {r.outcome.upper()} {r.nodeid}" for r in self.results.values() if r.simulated]
        for outcome in ("failed", "error"):
            lines += [f"{outcome.upper()} {r.nodeid}: {r.detail}" for r in self.results.values()
                      if r.outcome == outcome]
        reasons = Counter(r.detail for r in self.results.values() if r.outcome == "skipped")
        lines += [f"SKIPPED x{n}: {reason}" for reason, n in reasons.most_common()]
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        lines = self.summary_lines()
        terminalreporter.section("conformance summary")
        for line in lines:
            terminalreporter.write_line(line)
        reports_dir: Path = self.config.getoption("reports_dir")
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        payload = {"generated": stamp, "header": self._header(), "run": self.recorder.identity(),
                   "results": [asdict(r) for r in self.results.values()]}
        write_atomically(reports_dir / "summary.json", json.dumps(payload, indent=2) + "\n")
        write_atomically(reports_dir / "summary.md",
                         f"# Conformance summary ({stamp})\n\n" + "\n".join(f"- {line}" for line in lines) + "\n")
        terminalreporter.write_line(f"written: {reports_dir / 'summary.json'}, {reports_dir / 'summary.md'}")
