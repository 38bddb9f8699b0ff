"""Kept benchmark runs: pytest-benchmark's own saved files, never overwritten, read back with their key.

`make bench` (and `python -m conformance bench run`) let pytest-benchmark keep every run itself
(`--benchmark-autosave --benchmark-save-data --benchmark-storage=reports/benchmarks/runs`): one numbered JSON
file per run with the raw timing of every round (`stats.data`), which is what the comparison reads. The kit's
plugin adds the run's identity to each file (`machine_info.orin_kit`, see session.py). A baseline is chosen per
benchmark key (identity.benchmark_key): the file kept under `reports/baselines/benchmarks/<key>.json` when a
release owner set one (`bench baseline RUN`), else the previous kept run with the same key.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.reports.identity import benchmark_key, key_differences, key_slug

STORE = Path("reports") / "benchmarks" / "runs"
BASELINES = Path("reports") / "baselines" / "benchmarks"


class BenchError(ValueError):
    """A run cannot be found, read or compared; the message says which and why."""


@dataclass(frozen=True)
class BenchRun:
    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def identity(self) -> dict[str, Any]:
        return dict(self.data.get("machine_info", {}).get("orin_kit") or {})

    @property
    def key(self) -> dict[str, Any]:
        identity = self.identity
        return dict(identity.get("benchmark_key") or benchmark_key(identity))

    @property
    def when(self) -> str:
        return str(self.data.get("datetime", ""))

    @property
    def rerun_of(self) -> str | None:
        value = self.identity.get("rerun_of")
        return str(value) if value else None

    @property
    def revision(self) -> str:
        source = self.identity.get("source") or {}
        revision = str(source.get("revision") or self.data.get("commit_info", {}).get("id") or "unknown")[:10]
        return revision + ("+dirty" if source.get("clean") is False else "")

    @property
    def label(self) -> str:
        return f"{self.id.split('_')[0]} {self.revision}"

    def benchmarks(self) -> dict[str, dict[str, Any]]:
        return {str(b["fullname"]): b for b in self.data.get("benchmarks", [])}

    def rounds(self, name: str) -> list[float]:
        return [float(x) for x in self.benchmarks()[name]["stats"]["data"]]


def load_run(path: Path) -> BenchRun:
    """Read one pytest-benchmark JSON file; it must carry the raw rounds (--benchmark-save-data)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"{path}: no such benchmark run") from None
    except (OSError, json.JSONDecodeError) as error:
        raise BenchError(f"{path}: not a pytest-benchmark JSON file ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list) or "machine_info" not in data:
        raise BenchError(f"{path}: not a pytest-benchmark JSON file (expected 'machine_info' and 'benchmarks')")
    bare = [b.get("fullname") for b in data["benchmarks"] if not isinstance(b.get("stats", {}).get("data"), list)]
    if bare:
        raise BenchError(f"{path}: saved without the raw rounds of {bare[:3]}; expected runs kept with "
                         "--benchmark-save-data (as `make bench` does)")
    return BenchRun(path, data)


def list_runs(store: Path = STORE) -> list[BenchRun]:
    """Every kept run under store (any machine folder pytest-benchmark made), oldest first."""
    runs = [load_run(p) for p in sorted(store.rglob("*.json"))] if store.is_dir() else []
    return sorted(runs, key=lambda r: (r.when, r.id))


def resolve(spec: str, store: Path = STORE) -> BenchRun:
    """A run named by a file path, 'latest' (newest run that is not a re-run), or a unique prefix of its id."""
    path = Path(spec)
    if path.suffix == ".json" and path.is_file():
        return load_run(path)
    runs = list_runs(store)
    if spec == "latest":
        primary = [r for r in runs if r.rerun_of is None]
        if not primary:
            raise BenchError(f"no kept benchmark run under {store}; run `make bench` first")
        return primary[-1]
    found = [r for r in runs if r.id.startswith(spec)]
    if len(found) != 1:
        names = ", ".join(r.id for r in runs[-8:]) or "none"
        raise BenchError(f"{spec!r} names {len(found)} kept runs under {store}; expected one (a path, 'latest', "
                         f"or a unique id prefix; recent: {names})")
    return found[0]


def history(run: BenchRun, store: Path = STORE) -> list[BenchRun]:
    """The kept runs of run's key up to and including run (no re-runs), oldest first: the charts' x axis."""
    same = [r for r in list_runs(store) if r.rerun_of is None and not key_differences(r.key, run.key)
            and (r.when, r.id) <= (run.when, run.id)]
    return same if any(r.path == run.path for r in same) else [*same, run]


def baseline_for(run: BenchRun, store: Path = STORE, baselines: Path = BASELINES) -> tuple[BenchRun | None, str]:
    """The baseline of run's key and why it was chosen; None (with the reason) when there is none yet."""
    chosen = baselines / f"{key_slug(run.key)}.json"
    if chosen.is_file():
        return load_run(chosen), f"baseline set for this key ({chosen})"
    earlier = [r for r in history(run, store) if r.path != run.path]
    if earlier:
        return earlier[-1], "the previous kept run with the same key (no baseline set for it)"
    return None, f"no earlier run with this key under {store} and no baseline in {baselines}"


def check_comparable(run: BenchRun, baseline: BenchRun) -> None:
    """Refuse, with the reason, to compare runs whose environments differ (profile, device, power mode ...)."""
    differences = key_differences(baseline.key, run.key)
    if differences:
        raise BenchError(f"refusing to compare {run.id} with {baseline.id}: their keys differ in "
                         + "; ".join(differences) + " (only runs of one profile, device, power mode and L4T "
                         "compare; choose a baseline of the same key)")


def set_baseline(run: BenchRun, baselines: Path = BASELINES) -> Path:
    """Keep a copy of run as the baseline of its key (commit it: reports/baselines/ is tracked)."""
    if run.rerun_of is not None:
        raise BenchError(f"{run.id} is a re-run of {run.rerun_of}; choose a full run as the baseline")
    baselines.mkdir(parents=True, exist_ok=True)
    target = baselines / f"{key_slug(run.key)}.json"
    tmp = target.with_suffix(".json.tmp")
    shutil.copyfile(run.path, tmp)
    tmp.replace(target)
    return target
