"""The fleet as files: fleet.json (KCIDB v5.3), fleet.xml (one merged JUnit file), fleet.md and fleet.html
(device x criterion table, roll-ups per device model, then each device's problems)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conformance.reports import html
from conformance.reports.fleet import ORDER, Fleet, kcidb, worst
from conformance.reports.junit import merge_junit
from conformance.util.files import write_atomically

SHORT = {"unreachable": "UNREACHABLE", "error": "ERROR", "fail": "FAIL", "missing": "MISSING",
         "simulated": "SIMULATED", "pass": "pass", "skip": "skip"}


def headline(fleet: Fleet) -> str:
    counts = {s: sum(d.status == s for d in fleet.devices) for s in ORDER}
    shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"FLEET {SHORT[worst([d.status for d in fleet.devices])]}: {len(fleet.devices)} device(s): {shown}"


def _markdown(fleet: Fleet) -> str:
    cell = html.md_cell
    ids = [c.id for c in fleet.criteria.criteria]
    lines = [f"# {headline(fleet)}", "", "Status order, worst first: " + " > ".join(ORDER) +
             " (unreachable and error are infrastructure trouble, not failures of the product).", "",
             "## Devices x criteria", "", "| criterion | priority | " + " | ".join(d.id for d in fleet.devices) + " |",
             "| --- | --- | " + " | ".join("---" for _ in fleet.devices) + " |"]
    for criterion in fleet.criteria.criteria:
        cells = []
        for device in fleet.devices:
            c = device.cells[criterion.id]
            cells.append(SHORT[c.status] + (f" {c.figure:g} {c.unit}" if c.figure is not None else ""))
        lines.append(f"| {criterion.id} | {criterion.priority} | " + " | ".join(cells) + " |")
    lines.append("| **device** | | " + " | ".join(f"**{SHORT[d.status]}**" for d in fleet.devices) + " |")
    lines.append("| **sign-off** | | " + " | ".join(d.acceptance.verdict if d.acceptance else "-" for d in fleet.devices)
                 + " |")
    lines += ["", "## Roll-up per device model", "", "| model | devices | status | worst criteria |",
              "| --- | --- | --- | --- |"]
    for model, roll in fleet.rollups().items():
        bad = [f"{cid} {SHORT[s]}" for cid, s in roll["criteria"].items() if ORDER.index(s) <= ORDER.index("fail")]
        lines.append(f"| {cell(model)} | {', '.join(roll['devices'])} | {SHORT[roll['status']]} | "
                     f"{cell(', '.join(bad[:8]) or '-')} |")
    lines += ["", "## Devices", ""]
    for device in fleet.devices:
        run = device.run
        lines.append(f"- **{device.id}**: {SHORT[device.status]}; {device.model}; profile {run.get('profile')}; "
                     f"L4T {(run.get('device') or {}).get('l4t')}; verdict "
                     f"{device.acceptance.verdict if device.acceptance else '-'}"
                     + (f"; {cell(device.problem)}" if device.problem else ""))
    return "\n".join(lines) + "\n"


def _html(fleet: Fleet, out: Path) -> str:
    e = html.e
    header = ["criterion", "priority"] + [e(d.id) for d in fleet.devices]
    rows = []
    for criterion in fleet.criteria.criteria:
        row = [f"<b>{e(criterion.id)}</b><br><small>{e(criterion.text)}</small>", e(criterion.priority)]
        for device in fleet.devices:
            c = device.cells[criterion.id]
            figure = f"<br>{c.figure:g} {e(c.unit)}" if c.figure is not None else ""
            row.append(f"<span class=\"{html.status_class(c.status)}\" title=\"{e(c.reason)}\">"
                       f"{e(SHORT[c.status])}</span>{figure}")
        rows.append(row)
    rows.append(["<b>device</b>", ""] + [f"<span class=\"{html.status_class(d.status)}\">{e(SHORT[d.status])}</span>"
                                         for d in fleet.devices])
    rows.append(["<b>sign-off</b>", ""] + [e(d.acceptance.verdict if d.acceptance else "-") for d in fleet.devices])
    models = [[e(m), e(", ".join(r["devices"])), f"<span class=\"{html.status_class(r['status'])}\">"
               f"{e(SHORT[r['status']])}</span>"] for m, r in fleet.rollups().items()]
    devices = []
    for d in fleet.devices:
        report = ""
        if d.path is not None and (d.path / "acceptance.html").is_file():
            rel = os.path.relpath(d.path / "acceptance.html", out).replace(os.sep, "/")
            report = f" <a href=\"{e(rel)}\">sign-off</a>"
        devices.append(f"<li><b>{e(d.id)}</b>: <span class=\"{html.status_class(d.status)}\">{e(SHORT[d.status])}"
                       f"</span>, {e(d.model)}{(', ' + e(d.problem)) if d.problem else ''}{report}</li>")
    body = (f"<p>Status order, worst first: {e(' > '.join(ORDER))}. Machine-readable: "
            "<a href=\"fleet.json\">fleet.json</a> (KCIDB v5.3) and <a href=\"fleet.xml\">fleet.xml</a> (JUnit).</p>"
            + "<h2>Devices x criteria</h2>" + html.table(header, rows)
            + "<h2>Roll-up per device model</h2>" + html.table(["model", "devices", "status"], models)
            + "<h2>Devices</h2><ul>" + "".join(devices) + "</ul>")
    worst_status = worst([d.status for d in fleet.devices])
    return html.page("Fleet conformance", headline(fleet), "good" if worst_status in ("pass", "skip") else "bad", body)


def write_fleet(fleet: Fleet, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "fleet.json", out / "fleet.xml", out / "fleet.md", out / "fleet.html"]
    write_atomically(files[0], json.dumps(kcidb(fleet), indent=2, default=str) + "\n")
    parts = []
    for device in fleet.devices:
        junit = device.acceptance.folder.junit.path if device.acceptance else None
        parts.append((device.id, junit, {"fleet_status": device.status, "model": device.model,
                                         **({"problem": device.problem} if device.problem else {})}))
    merge_junit(parts, files[1])
    write_atomically(files[2], _markdown(fleet))
    write_atomically(files[3], _html(fleet, out))
    return files
