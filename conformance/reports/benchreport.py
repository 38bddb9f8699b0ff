"""The benchmark comparison as a report: compare.json (machine-readable), compare.md and a self-contained
compare.html with one PNG chart per benchmark (also kept as files under charts/)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from conformance.reports import html
from conformance.reports.benchstats import NOISY, SLOWER, Comparison
from conformance.reports.benchstore import BenchRun
from conformance.reports.charts import chart_name, draw
from conformance.util.files import write_atomically


def headline(comparisons: list[Comparison], reran: bool) -> tuple[str, str]:
    """The verdict line and its page class."""
    confirmed = [c for c in comparisons if c.regression]
    unconfirmed = [c for c in comparisons if c.verdict == SLOWER and c.confirmed is None]
    if confirmed:
        return f"REGRESSION: {len(confirmed)} benchmark(s) slower, confirmed by a re-run", "bad"
    if unconfirmed:
        return (f"UNCONFIRMED: {len(unconfirmed)} benchmark(s) slower, not re-run "
                f"({'re-run lacked them' if reran else 'run without re-run'})"), "warn"
    noisy = sum(c.verdict == NOISY for c in comparisons)
    return f"NO REGRESSION ({len(comparisons)} benchmarks, {noisy} noisy)", "good"


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path.resolve(), start.resolve()).replace(os.sep, "/")


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def write_report(comparisons: list[Comparison], current: BenchRun, baseline: BenchRun, why: str,
                 runs: list[BenchRun], rerun: BenchRun | None, out: Path) -> dict[str, Any]:
    """Write the report files under out; returns the JSON payload."""
    out.mkdir(parents=True, exist_ok=True)
    verdict, verdict_class = headline(comparisons, rerun is not None)
    charts: dict[str, Path] = {}
    for item in comparisons:
        if item.current is not None or item.baseline is not None:
            charts[item.name] = draw(item, runs, current, baseline, out / "charts" / chart_name(item.name),
                                    rerun)
    payload: dict[str, Any] = {
        "verdict": verdict, "current": _rel(current.path, out), "baseline": _rel(baseline.path, out),
        "baseline_reason": why, "rerun": _rel(rerun.path, out) if rerun else None, "key": current.key,
        "subject": {"current": current.revision, "baseline": baseline.revision},
        "comparisons": [{**asdict(c), "chart": _rel(charts[c.name], out) if c.name in charts else None}
                        for c in comparisons],
    }
    write_atomically(out / "compare.json", json.dumps(payload, indent=2, default=str) + "\n")
    write_atomically(out / "compare.md", _markdown(payload, comparisons, charts, out))
    write_atomically(out / "compare.html", _html(payload, comparisons, charts, current, baseline, rerun, out))
    return payload


def _markdown(payload: dict[str, Any], comparisons: list[Comparison], charts: dict[str, Path], out: Path) -> str:
    lines = [f"# {payload['verdict']}", "", "Benchmark comparison (noise-aware: ratio of medians past the factor AND "
             "Mann-Whitney U p < alpha; a slower benchmark is re-run before it counts).", "",
             f"- this run: `{payload['current']}` ({payload['subject']['current']})",
             f"- baseline: `{payload['baseline']}` ({payload['subject']['baseline']}): {payload['baseline_reason']}",
             f"- re-run of flagged benchmarks: `{payload['rerun'] or 'none'}`",
             "- key: " + ", ".join(f"{k}={v}" for k, v in payload["key"].items()), "",
             "| benchmark | verdict | median baseline | median now | ratio | p | rounds | spread now | reason |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in comparisons:
        lines.append("| " + " | ".join(html.md_cell(x) for x in (
            f"`{c.name}`", c.verdict + (" (confirmed)" if c.regression else ""),
            _fmt(c.baseline.median_s if c.baseline else None), _fmt(c.current.median_s if c.current else None),
            f"x{c.ratio:.3f}" if c.ratio else "-", f"{c.p_value:.2g}" if c.p_value is not None else "-",
            f"{c.baseline.rounds if c.baseline else 0}/{c.current.rounds if c.current else 0}",
            f"{c.current.spread:.0%}" if c.current else "-", c.reason)) + " |")
    lines += ["", "## Charts", ""]
    lines += [f"![{c.name}]({_rel(charts[c.name], out)})" for c in comparisons if c.name in charts]
    return "\n".join(lines) + "\n"


def _html(payload: dict[str, Any], comparisons: list[Comparison], charts: dict[str, Path], current: BenchRun,
          baseline: BenchRun, rerun: BenchRun | None, out: Path) -> str:
    e = html.e
    rows = []
    for i, c in enumerate(comparisons):
        rows.append([f"<a href=\"#bench-{i}\" title=\"{e(c.name)}\"><code>{e(c.name.split('::')[-1])}</code></a>",
                     f"<span class=\"{html.status_class(c.verdict)}\">{e(c.verdict)}"
                     f"{' (confirmed)' if c.regression else ''}</span>",
                     e(_fmt(c.baseline.median_s if c.baseline else None)),
                     e(_fmt(c.current.median_s if c.current else None)),
                     e(f"x{c.ratio:.3f}" if c.ratio else "-"), e(f"{c.p_value:.2g}" if c.p_value is not None else "-"),
                     e(f"{c.baseline.rounds if c.baseline else 0}/{c.current.rounds if c.current else 0}"),
                     e(c.reason)])
    runs = [("this run", current), ("baseline", baseline)] + ([("re-run", rerun)] if rerun else [])
    evidence = "".join(f"<li>{e(label)}: <a href=\"{e(_rel(run.path, out))}\">{e(run.id)}</a> "
                       f"<small>({e(run.revision)}, {e(run.when)})</small></li>" for label, run in runs)
    body = [f"<p>{e(payload['baseline_reason'])}. Key: <code>{e(json.dumps(payload['key']))}</code></p>",
            f"<ul>{evidence}<li>machine-readable: <a href=\"compare.json\">compare.json</a></li></ul>",
            html.table(["benchmark", "verdict", "median baseline", "median now", "ratio", "p (Mann-Whitney U)",
                        "rounds base/now", "reason"], rows), "<h2>Charts</h2>"]
    for i, c in enumerate(comparisons):
        if c.name in charts:
            body.append(f"<h3 id=\"bench-{i}\"><code>{e(c.name)}</code></h3>"
                        f"<p><img alt=\"{e(c.name)} over the kept runs\" src=\"{html.data_uri(charts[c.name])}\"></p>"
                        f"<p><small>chart file: <a href=\"{e(_rel(charts[c.name], out))}\">"
                        f"{e(charts[c.name].name)}</a></small></p>")
        else:
            body.append(f"<h3 id=\"bench-{i}\"><code>{e(c.name)}</code></h3><p>no rounds to chart</p>")
    return html.page("Benchmark comparison", payload["verdict"], payload.get("verdict_class", "")
                     or headline(comparisons, rerun is not None)[1], "\n".join(body))
