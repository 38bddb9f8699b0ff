"""The acceptance sign-off as acceptance.json, acceptance.md and a self-contained acceptance.html.

Both human pages start with the verdict, then what blocks it, the device's identity (model, L4T, JetPack,
CUDA, TensorRT, power mode), the images' digests, the source revision and whether the tree was clean, the
profile, and one row per criterion: status, the measured figure against its threshold, the reason, and a link
to its evidence (the checks' outcomes and messages further down the page, and the run's JUnit file).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from conformance import SOURCE_ROOT
from conformance.reports import html
from conformance.reports.acceptance import SIGNED, Acceptance, CriterionResult
from conformance.reports.evidence import EVIDENCE, MANIFEST, STATEMENT
from conformance.util.files import write_atomically

COMPARISON = Path("benchmarks") / "compare" / "compare.html"


def identity_rows(run: dict[str, Any]) -> list[tuple[str, str]]:
    device = run.get("device") or {}
    source = run.get("source") or {}
    clean = {True: "clean", False: f"NOT clean ({len(source.get('changed', []))} changed)", None: "unknown"}
    images = "; ".join(f"{i['name']}: {i['tag']} @ {i.get('digest') or 'digest unknown'}"
                       for i in run.get("images", [])) or "none tested in this run"
    def shown(value: object) -> str:
        return "-" if value is None else str(value)

    return [
        ("device model", device.get("model") or f"not a Jetson ({run.get('host')})"),
        ("L4T", shown(device.get("l4t"))), ("JetPack", shown(device.get("jetpack"))), ("CUDA", shown(device.get("cuda"))),
        ("TensorRT", shown(device.get("tensorrt"))), ("power mode", shown(run.get("power_mode"))),
        ("profile", f"{run.get('profile')} ({run.get('profile_reason')})"),
        ("SIMULATED", f"yes: device data read from {run.get('device_root')}" if run.get("simulated") else "no"),
        ("source revision", f"{source.get('revision')} ({clean[source.get('clean')]})"),
        ("images", images), *([("images tree", "{path} at {revision} ({state})".format(
            **run["images_source"], state={True: "clean", False: "NOT clean", None: "unknown"}[run["images_source"].get("clean")]))] if run.get("images_source") else []),
        ("host", f"{run.get('hostname')}: {run.get('host')}"),
        ("run", f"session {run.get('session')}, {run.get('started')} to {run.get('finished')}"),
    ]


def _shown(path: Path) -> str:
    """A path as the reader knows it: relative to the kit's tree when inside it."""
    try:
        return path.resolve().relative_to(SOURCE_ROOT).as_posix()
    except ValueError:
        return str(path)


def _figure(result: CriterionResult) -> str:
    figure = result.criterion.figure
    if figure is None:
        return ""
    found = ", ".join(f"{v:g}" for v in result.figures.values()) or "not measured"
    return f"{found} {figure.unit} (threshold {result.threshold or figure.threshold.op + ' ?'})"


def payload(acceptance: Acceptance, criteria_path: Path) -> dict[str, Any]:
    folder = acceptance.folder
    return {
        "verdict": acceptance.verdict, "blockers": acceptance.blockers, "run": folder.run,
        "junit": os.path.relpath(folder.junit.path, folder.path), "junit_problems": folder.junit_problems,
        "criteria_file": _shown(criteria_path),
        "criteria": [{"id": r.criterion.id, "priority": r.criterion.priority, "kind": r.criterion.kind,
                      "source": r.criterion.source, "text": r.criterion.text, "status": r.status, "reason": r.reason,
                      "figures": r.figures, "threshold": r.threshold, "missing_checks": r.missing,
                      "checks": [{"nodeid": c.nodeid, "outcome": c.outcome, "message": c.message[:500],
                                  "properties": c.properties} for c in r.cases]} for r in acceptance.results],
    }


def _markdown(acceptance: Acceptance, data: dict[str, Any]) -> str:
    cell = html.md_cell
    lines = [f"# {acceptance.verdict}", "", "Acceptance sign-off of one conformance run against "
             f"`{data['criteria_file']}` (seed 001 P0/P1/P2 and Success Metrics; seeds 000, 003, 004 rules).", ""]
    if acceptance.blockers:
        lines += ["## What blocks the signature", ""] + [f"- {cell(b)}" for b in acceptance.blockers] + [""]
    lines += ["## Run", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {cell(v)} |" for k, v in identity_rows(acceptance.folder.run)]
    lines += ["", f"Evidence: JUnit `{data['junit']}`, `summary.json`, `{EVIDENCE}/{MANIFEST}`, "
              f"`{EVIDENCE}/{STATEMENT}`", "", "## Criteria", "",
              "| criterion | priority | status | figure vs threshold | reason | checks |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in acceptance.results:
        checks = ", ".join(f"`{c.nodeid}` {c.outcome}" for c in r.cases[:4]) + (" ..." if len(r.cases) > 4 else "")
        lines.append("| " + " | ".join(cell(x) for x in (
            f"**{r.criterion.id}** {r.criterion.text} ({r.criterion.source})", r.criterion.priority, r.status,
            _figure(r), r.reason, checks or "none")) + " |")
    return "\n".join(lines) + "\n"


def _html(acceptance: Acceptance, data: dict[str, Any]) -> str:
    e = html.e
    folder = acceptance.folder
    count = len(acceptance.blockers)
    verdict = acceptance.verdict if acceptance.verdict == SIGNED else f"NOT SIGNED: {count} blocker(s)"
    body = []
    if acceptance.blockers:
        body.append("<h2>What blocks the signature</h2><ul>" + "".join(f"<li>{e(b)}</li>" for b in acceptance.blockers)
                    + "</ul>")
    body.append("<h2>Run</h2>" + html.table(["fact", "value"], [[e(k), e(v)] for k, v in identity_rows(folder.run)]))
    links = [f"<a href=\"{e(data['junit'])}\">JUnit ({e(data['junit'])})</a>", "<a href=\"summary.json\">summary.json</a>",
             f"<a href=\"{EVIDENCE}/{MANIFEST}\">manifest (sha256 of every file)</a>",
             f"<a href=\"{EVIDENCE}/{STATEMENT}\">in-toto test-result statement</a>"]
    if (folder.path / COMPARISON).is_file():
        links.append(f"<a href=\"{COMPARISON.as_posix()}\">benchmark comparison</a>")
    body.append("<p>Evidence: " + " · ".join(links) + "</p>")
    rows = []
    for r in acceptance.results:
        rows.append([f"<b>{e(r.criterion.id)}</b><br>{e(r.criterion.text)}<br><small>{e(r.criterion.source)}</small>",
                     e(r.criterion.priority), f"<span class=\"{html.status_class(r.status)}\">{e(r.status)}</span>",
                     e(_figure(r)), e(r.reason), f"<a href=\"#evidence-{e(r.criterion.id)}\">evidence</a>"])
    body.append("<h2>Criteria</h2>" + html.table(["criterion", "priority", "status", "figure vs threshold",
                                                   "reason", "evidence"], rows))
    body.append("<h2>Evidence per criterion</h2>")
    for r in acceptance.results:
        cases = [[f"<code>{e(c.nodeid)}</code>", e(c.outcome), e(c.message.splitlines()[0] if c.message else ""),
                  e(", ".join(f"{k}={v}" for k, v in c.properties.items()))] for c in r.cases]
        cases += [[f"<code>{e(p)}</code>", "not collected", "", ""] for p in r.missing]
        detail = html.table(["check", "outcome", "message", "properties"], cases) if cases else (
            f"<p>{e(r.reason)}</p>")
        body.append(f"<h3 id=\"evidence-{e(r.criterion.id)}\">{e(r.criterion.id)}: "
                    f"<span class=\"{html.status_class(r.status)}\">{e(r.status)}</span></h3>{detail}"
                    f"<p><small>from <a href=\"{e(data['junit'])}\">{e(data['junit'])}</a></small></p>")
    return html.page("Acceptance sign-off", verdict, "good" if acceptance.verdict == SIGNED else "bad", "\n".join(body))


def write_signoff(acceptance: Acceptance, criteria_path: Path) -> list[Path]:
    """Write acceptance.json/.md/.html into the run's folder; returns their paths."""
    folder = acceptance.folder.path
    data = payload(acceptance, criteria_path)
    out = [folder / "acceptance.json", folder / "acceptance.md", folder / "acceptance.html"]
    write_atomically(out[0], json.dumps(data, indent=2, default=str) + "\n")
    write_atomically(out[1], _markdown(acceptance, data))
    write_atomically(out[2], _html(acceptance, data))
    return out
