"""Noise-aware comparison of two benchmark runs, benchmark by benchmark, on pytest-benchmark's raw rounds.

The rule is asv's (`asv compare`): a benchmark changed only when the ratio of medians passes a factor AND a
two-sided Mann-Whitney U test on the raw rounds says the two samples differ (p < alpha). A ratio past the
factor that the test cannot confirm (too few rounds, or overlapping samples) is 'noisy', never a regression.
A 'slower' benchmark is then re-run alone; only a re-run that is again slower makes a confirmed regression
(Bencher's users re-run to confirm an alert; a load burst on a shared machine does not repeat on demand).
Limits (factor, alpha, minimum rounds) come per benchmark and profile from fixtures/benchmarks/regression.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Any

from conformance.config.benchmarks import Limits, RegressionPolicy
from conformance.reports.benchstore import BenchRun

FASTER, SLOWER, NO_CHANGE, NOISY, NEW, GONE = "faster", "slower", "no change", "noisy", "new", "gone"


@dataclass
class Sample:
    median_s: float
    q1_s: float
    q3_s: float
    rounds: int

    @classmethod
    def of(cls, data: list[float]) -> Sample:
        import numpy as np

        q1, q3 = (float(v) for v in np.percentile(data, [25, 75]))
        return cls(float(median(data)), q1, q3, len(data))

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median."""
        return (self.q3_s - self.q1_s) / self.median_s if self.median_s else 0.0


@dataclass
class Comparison:
    name: str
    group: str | None
    verdict: str
    reason: str
    limits: Limits
    baseline: Sample | None = None
    current: Sample | None = None
    ratio: float | None = None
    p_value: float | None = None
    #: for a 'slower' verdict: True when a re-run confirmed it, False when it did not, None when not re-run
    confirmed: bool | None = None
    rerun: dict[str, Any] = field(default_factory=dict)

    @property
    def regression(self) -> bool:
        return self.verdict == SLOWER and self.confirmed is True


def judge(a: list[float], b: list[float], limits: Limits) -> tuple[str, float, float | None, str]:
    """Verdict, ratio of medians (b / a), p-value and reason for baseline rounds a and current rounds b."""
    from scipy.stats import mannwhitneyu

    ratio = median(b) / median(a)
    beyond = ratio > limits.factor or ratio < 1 / limits.factor
    if min(len(a), len(b)) < limits.min_rounds:
        reason = (f"{len(a)} and {len(b)} rounds: below the {limits.min_rounds} a Mann-Whitney U test needs to "
                  f"reach p < {limits.alpha:g}")
        return (NOISY if beyond else NO_CHANGE), ratio, None, reason
    p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    within = f"x{ratio:.3f} within the factor {limits.factor:g}"
    if not beyond:
        return NO_CHANGE, ratio, p, within + f" (p={p:.2g})"
    if p >= limits.alpha:
        return NOISY, ratio, p, (f"x{ratio:.3f} past the factor {limits.factor:g} but the rounds overlap: "
                                 f"Mann-Whitney U p={p:.2g} >= {limits.alpha:g}")
    direction = SLOWER if ratio > 1 else FASTER
    return direction, ratio, p, (f"x{ratio:.3f} past the factor {limits.factor:g}, Mann-Whitney U p={p:.2g} < "
                                 f"{limits.alpha:g}")


def compare_runs(current: BenchRun, baseline: BenchRun, policy: RegressionPolicy) -> list[Comparison]:
    """One Comparison per benchmark of either run (new and gone ones included), in the current run's order."""
    profile = str(current.key.get("profile"))
    ours, theirs = current.benchmarks(), baseline.benchmarks()
    out: list[Comparison] = []
    for name in [*ours, *(n for n in theirs if n not in ours)]:
        limits = policy.limits(name, profile)
        group = (ours.get(name) or theirs.get(name) or {}).get("group")
        if name not in theirs:
            out.append(Comparison(name, group, NEW, "not in the baseline", limits,
                                  current=Sample.of(current.rounds(name))))
            continue
        if name not in ours:
            out.append(Comparison(name, group, GONE, "in the baseline, not in this run", limits,
                                  baseline=Sample.of(baseline.rounds(name))))
            continue
        a, b = baseline.rounds(name), current.rounds(name)
        verdict, ratio, p, reason = judge(a, b, limits)
        out.append(Comparison(name, group, verdict, reason, limits, Sample.of(a), Sample.of(b), ratio, p))
    return out


def confirm(comparisons: list[Comparison], rerun: BenchRun, baseline: BenchRun) -> None:
    """Judge each 'slower' benchmark again on the re-run's rounds: still slower confirms it; anything else
    turns it into 'noisy' (the first result did not repeat)."""
    rounds = rerun.benchmarks()
    for item in comparisons:
        if item.verdict != SLOWER:
            continue
        if item.name not in rounds:
            item.reason += f"; the re-run {rerun.id.split('_')[0]} lacks it, so it stays unconfirmed"
            continue
        verdict, ratio, p, reason = judge(baseline.rounds(item.name), rerun.rounds(item.name), item.limits)
        item.rerun = {"run": rerun.id, "verdict": verdict, "ratio": ratio, "p_value": p, "reason": reason}
        short = rerun.id.split("_")[0]
        if verdict == SLOWER:
            item.confirmed = True
            item.reason += f"; confirmed by the re-run {short}: {reason}"
        else:
            item.confirmed = False
            item.verdict = NOISY
            item.reason += f"; NOT confirmed by the re-run {short} ({verdict}: {reason})"


def flagged(comparisons: list[Comparison]) -> list[str]:
    """Benchmarks to re-run before calling a regression."""
    return [c.name for c in comparisons if c.verdict == SLOWER and c.confirmed is None]


def exit_code(comparisons: list[Comparison]) -> int:
    """1 on a confirmed regression (what fails CI), else 0."""
    return 1 if any(c.regression for c in comparisons) else 0
