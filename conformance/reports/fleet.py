"""Fleet: many devices' report folders (one per device) merged into one device x criterion table.

Each folder is judged with the same criteria as a sign-off. Statuses, worst first (a roll-up takes the worst):
  unreachable  the device left no report (expected but absent, or no run identity / JUnit): infrastructure
  error        a check errored in setup or teardown, or the JUnit file is unreadable: infrastructure
  fail         a check failed, or a figure is on the wrong side of its threshold
  missing      a required check was not collected (NOT RUN)
  simulated    passed on recorded device data
  pass
  skip         skipped (with its reason)
Infrastructure trouble (unreachable, error) ranks above failures so that a broken lab is never read as broken
code (LAVA's split), and a device that reported nothing is never read as passing.
The machine-readable result is a KCIDB v5 document (ids `orin_kit:...`; see docs/reports.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.config.acceptance import Criteria
from conformance.config.profiles import PROFILES_DIR
from conformance.reports.acceptance import (FAIL, NOT_RUN, PASS, SIMULATED, SKIPPED, Acceptance, RunFolderError,
                                            evaluate, load_run_folder)

ORIGIN = "orin_kit"
ORDER = ("unreachable", "error", "fail", "missing", "simulated", "pass", "skip")
#: Our status -> KCIDB's (v5: FAIL, ERROR, MISS, PASS, DONE, SKIP); DONE: ran, but says nothing of the product.
KCIDB_STATUS = {"unreachable": "MISS", "error": "ERROR", "fail": "FAIL", "missing": "MISS", "simulated": "DONE",
                "pass": "PASS", "skip": "SKIP"}


def worst(statuses: list[str]) -> str:
    return min(statuses, key=ORDER.index) if statuses else "missing"


@dataclass
class Cell:
    status: str
    reason: str
    figure: float | None = None
    unit: str = ""
    checks: list[str] = field(default_factory=list)


@dataclass
class Device:
    id: str
    path: Path | None
    acceptance: Acceptance | None
    problem: str = ""
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def run(self) -> dict[str, Any]:
        return self.acceptance.folder.run if self.acceptance else {}

    @property
    def model(self) -> str:
        device = self.run.get("device") or {}
        return str(device.get("model") or ("unknown (no report)" if self.acceptance is None else "not a Jetson"))

    gaps: frozenset[str] = frozenset()

    @property
    def status(self) -> str:
        """The worst status over the criteria a check proves (a criterion no check proves yet is the kit's gap,
        MISSING on every device alike, and left out of the roll-up)."""
        return worst([c.status for cid, c in self.cells.items() if cid not in self.gaps])


def _cell(result: Any) -> Cell:
    status = {PASS: "pass", FAIL: "fail", NOT_RUN: "missing", SKIPPED: "skip", SIMULATED: "simulated"}[result.status]
    if result.status == FAIL and result.cases and all(
            c.outcome == "error" for c in result.cases if c.outcome in ("failed", "error", "xfailed")):
        status = "error"
    figure = next(iter(result.figures.values()), None)
    unit = result.criterion.figure.unit if result.criterion.figure else ""
    return Cell(status, result.reason, figure, unit, [c.nodeid for c in result.cases])


def load_device(device_id: str, path: Path | None, criteria: Criteria, profiles_dir: Path = PROFILES_DIR) -> Device:
    if path is None or not path.is_dir():
        problem = f"no report folder for {device_id}" + (f" at {path}" if path else "") + " (unreachable)"
        device = Device(device_id, path, None, problem)
        device.cells = {c.id: Cell("unreachable", problem) for c in criteria.criteria}
        return device
    try:
        folder = load_run_folder(path)
    except RunFolderError as error:
        kind = "error" if "not JUnit XML" in str(error) else "unreachable"
        device = Device(device_id, path, None, str(error))
        device.cells = {c.id: Cell(kind, str(error)) for c in criteria.criteria}
        return device
    acceptance = evaluate(criteria, folder, profiles_dir)
    device = Device(device_id, path, acceptance)
    device.cells = {r.criterion.id: _cell(r) for r in acceptance.results}
    return device


@dataclass
class Fleet:
    criteria: Criteria
    devices: list[Device]

    def rollups(self) -> dict[str, dict[str, Any]]:
        """Per device model: its devices, the worst status overall and per criterion."""
        models: dict[str, list[Device]] = {}
        for device in self.devices:
            models.setdefault(device.model, []).append(device)
        return {model: {"devices": [d.id for d in devices], "status": worst([d.status for d in devices]),
                        "criteria": {c.id: worst([d.cells[c.id].status for d in devices])
                                     for c in self.criteria.criteria}}
                for model, devices in sorted(models.items())}

    def exit_code(self) -> int:
        """1 when any device is unreachable, errored or failed; else 0."""
        return 1 if any(d.status in ("unreachable", "error", "fail") for d in self.devices) else 0


def merge(dirs: Sequence[Path], criteria: Criteria, expected: Sequence[str] = (), profiles_dir: Path = PROFILES_DIR
          ) -> Fleet:
    """Devices are named by their folder; an expected device without a folder is unreachable."""
    seen = {p.name: p for p in dirs}
    if len(seen) != len(dirs):
        raise RunFolderError(f"two report folders share a name in {[str(d) for d in dirs]}; a device is named by its "
                             "folder, so give each device its own folder name")
    devices = [load_device(name, path, criteria, profiles_dir) for name, path in sorted(seen.items())]
    devices += [load_device(name, None, criteria, profiles_dir) for name in expected if name not in seen]
    gaps = frozenset(c.id for c in criteria.criteria if not c.checks)
    for device in devices:
        device.gaps = gaps
    return Fleet(criteria, devices)


def _id(*parts: str) -> str:
    return f"{ORIGIN}:" + ":".join(re.sub(r"\s+", "_", p) for p in parts)


def kcidb(fleet: Fleet) -> dict[str, Any]:
    """The fleet as a KCIDB v5.3 document: a checkout per source revision, a build per device run, a test per
    device x criterion (path `acceptance.<criterion>`); the kit's own status and reason under `misc`."""
    checkouts: dict[str, dict[str, Any]] = {}
    builds, tests = [], []
    for device in fleet.devices:
        run = device.run
        source = run.get("source") or {}
        revision = str(source.get("revision") or "unknown")
        checkout_id = _id(revision)
        checkout: dict[str, Any] = {"id": checkout_id, "origin": ORIGIN, "valid": revision != "unknown",
                                    "misc": {"clean": source.get("clean")}}
        if re.fullmatch(r"[0-9a-f]{40}", revision):
            checkout["git_commit_hash"] = revision
        checkouts.setdefault(checkout_id, checkout)
        build: dict[str, Any] = {"id": _id(device.id), "checkout_id": checkout_id, "origin": ORIGIN,
                                 "status": KCIDB_STATUS[device.status],
                                 "misc": {"kit_status": device.status, "model": device.model, "problem": device.problem,
                                          "verdict": device.acceptance.verdict if device.acceptance else None,
                                          "profile": run.get("profile"), "simulated": run.get("simulated"),
                                          "device": run.get("device"), "images": run.get("images", [])}}
        if run.get("profile"):
            build["config_name"] = str(run["profile"])
        if run.get("started"):
            build["start_time"] = run["started"]
        arch = str(run.get("host", "")).split(" ")[0]
        if re.fullmatch(r"[a-z0-9_]+", arch):
            build["architecture"] = arch
        builds.append(build)
        compatible = [c for c in (run.get("device") or {}).get("compatible", []) if re.fullmatch(r"[^ ]+(,[^ ]+)*", c)]
        for criterion in fleet.criteria.criteria:
            cell = device.cells[criterion.id]
            test: dict[str, Any] = {
                "id": _id(device.id, criterion.id), "build_id": build["id"], "origin": ORIGIN,
                "path": f"acceptance.{criterion.id}", "status": KCIDB_STATUS[cell.status],
                "comment": criterion.text[:200],
                "environment": {"comment": device.model, **({"compatible": compatible} if compatible else {})},
                "misc": {"kit_status": cell.status, "reason": cell.reason, "priority": criterion.priority,
                         "source": criterion.source, "checks": cell.checks},
            }
            if cell.figure is not None:
                test["number"] = {"value": cell.figure, **({"unit": cell.unit} if cell.unit else {})}
            if run.get("started"):
                test["start_time"] = run["started"]
            tests.append(test)
    return {"version": {"major": 5, "minor": 3}, "checkouts": list(checkouts.values()), "builds": builds,
            "tests": tests}
