"""PNG charts of one benchmark over the kept runs of its key (matplotlib, no display needed).

Each run is a box of its raw rounds (the spread: quartiles, whiskers, outliers) with its median joined to the
next run's; the baseline's median is a dashed line inside a shaded band of +-factor (the 'no change' zone);
the run under comparison is highlighted. The x axis names each run by number and source revision.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from conformance.reports.benchstats import Comparison
from conformance.reports.benchstore import BenchRun

_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
CURRENT, BASELINE, OTHER = "#d9480f", "#1864ab", "#adb5bd"


def chart_name(benchmark: str) -> str:
    """A file name for a benchmark's chart: readable, and unique through a short hash of the full name."""
    test, _, param = benchmark.split("::")[-1].partition("[")
    readable = re.sub(r"[^A-Za-z0-9]+", "-", f"{test[:40]} {param}").strip("-")[:80]
    return f"{readable}-{hashlib.sha256(benchmark.encode()).hexdigest()[:8]}.png"


def _unit(seconds: float) -> tuple[float, str]:
    for scale, name in _UNITS:
        if seconds >= scale:
            return scale, name
    return _UNITS[-1]


def draw(comparison: Comparison, runs: list[BenchRun], current: BenchRun, baseline: BenchRun | None,
         out: Path, rerun: BenchRun | None = None) -> Path:
    """Write the chart of comparison.name over runs (oldest first) to out; returns out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    name = comparison.name
    series = [(r, r.rounds(name)) for r in runs if name in r.benchmarks()]
    if baseline is not None and name in baseline.benchmarks() and not any(r.path == baseline.path for r, _ in series):
        series.insert(0, (baseline, baseline.rounds(name)))  # a set baseline that is no longer a kept run
    if rerun is not None and name in rerun.benchmarks():
        series.append((rerun, rerun.rounds(name)))  # the confirming re-run, right of the run it re-ran
    sample = comparison.baseline or comparison.current
    reference = sample.median_s if sample is not None else 1.0
    scale, unit = _unit(reference)

    fig, ax = plt.subplots(figsize=(11, 5.2), dpi=110)
    data = [[x / scale for x in rounds] for _, rounds in series]
    positions = list(range(1, len(series) + 1))
    boxes = ax.boxplot(data, positions=positions, widths=0.55, patch_artist=True, showfliers=True,
                       flierprops={"markersize": 2.5, "alpha": 0.5}, medianprops={"color": "black", "linewidth": 1.6})
    colours = []
    for run, _ in series:
        is_base = baseline is not None and run.path == baseline.path
        colours.append(CURRENT if run.path == current.path or run is rerun else BASELINE if is_base else OTHER)
    for patch, colour, (run, _) in zip(boxes["boxes"], colours, series):
        patch.set_facecolor(colour)
        patch.set_alpha(0.75)
        if run is rerun:
            patch.set_hatch("//")
    medians = [sorted(d)[len(d) // 2] for d in data]
    ax.plot(positions, medians, color="#343a40", linewidth=1, marker="o", markersize=4, zorder=3)

    # Legend keys drawn as the chart draws them: boxes at the boxes' alpha, the baseline median as a dashed line.
    handles: list[Artist] = [Patch(facecolor=CURRENT, alpha=0.75, label=f"this run ({current.label})"),
                             Patch(facecolor=OTHER, alpha=0.75, label="earlier kept runs")]
    if comparison.baseline is not None and baseline is not None:
        base = comparison.baseline.median_s / scale
        factor = comparison.limits.factor
        ax.axhspan(base / factor, base * factor, color=BASELINE, alpha=0.08)
        ax.axhline(base, color=BASELINE, linestyle="--", linewidth=1.4)
        if BASELINE in colours:
            handles.append(Patch(facecolor=BASELINE, alpha=0.75, label=f"baseline run ({baseline.label})"))
        handles += [Line2D([], [], color=BASELINE, linestyle="--", linewidth=1.4, label="baseline median"),
                    Patch(facecolor=BASELINE, alpha=0.08, label=f"no-change band: x{factor:g} either way")]
    if rerun is not None and name in rerun.benchmarks():
        handles.append(Patch(facecolor=CURRENT, alpha=0.75, hatch="//", label="re-run of this run's flagged benchmarks"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, framealpha=0.9)

    labels = [("baseline\n" if baseline is not None and r.path == baseline.path else "re-run\n" if r is rerun else "")
              + r.label for r, _ in series]
    ax.set_xticks(positions, labels=labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"time per call ({unit}); box = rounds of the run", fontsize=9)
    ax.set_xlabel("kept runs of this key, oldest first (run number, source revision)", fontsize=9)
    stats = f"x{comparison.ratio:.3f}" if comparison.ratio else ""
    stats += f", Mann-Whitney U p={comparison.p_value:.2g}" if comparison.p_value is not None else ""
    confirmed = {True: ", confirmed by a re-run", False: ", not confirmed by a re-run", None: ""}[comparison.confirmed]
    ax.set_title(f"{name.split('::')[-1]}\n{comparison.verdict.upper()} {stats}{confirmed}", fontsize=10, loc="left")
    ax.grid(axis="y", alpha=0.3)
    # Scale to the medians, not to a noisy run's outliers: rounds above the top are counted, not drawn.
    top = max(max(medians) * 1.6, (comparison.baseline.median_s / scale * comparison.limits.factor * 1.3)
              if comparison.baseline else 0.0)
    bottom = max(0.0, min(min(d) for d in data) * 0.85)
    ax.set_ylim(bottom=bottom, top=top)
    for x, d in zip(positions, data):
        above = sum(v > top for v in d)
        if above:
            ax.annotate(f"{above} of {len(d)} rounds\nabove the scale", (x, top), xytext=(0, -4),
                        textcoords="offset points", ha="center", va="top", fontsize=7, color="#c92a2a")
        ax.annotate(f"{sorted(d)[len(d) // 2]:.3g}", (x, sorted(d)[len(d) // 2]), xytext=(14, 2),
                    textcoords="offset points", fontsize=7, color="#343a40")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out
