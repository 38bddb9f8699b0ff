"""The benchmark regression gate on recorded pytest-benchmark runs (fixtures/reports/bench/runs/, README there):
a real 15% slowdown is flagged and confirmed, the same code on a noisy machine is not, runs of another profile
are refused; the statistic, the limits and the store, unit by unit."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import FIXTURES_DIR, SOURCE_ROOT
from conformance.cli import main
from conformance.config.benchmarks import Limits, load_policy, matches
from conformance.reports import benchstats
from conformance.reports.benchstore import BenchError, baseline_for, list_runs, load_run, resolve, set_baseline

pytest.importorskip("scipy", reason="the comparison needs scipy: pip install -e '.[reports]'")
pytest.importorskip("matplotlib", reason="the charts need matplotlib: pip install -e '.[reports]'")

RECORDED = FIXTURES_DIR / "reports" / "bench" / "runs"
LOOP = "fixtures/reports/bench/test_recorded_workload.py::test_workload[python-loop]"
LIMITS = Limits(factor=1.10, alpha=0.002, min_rounds=7, source="test")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the recorded runs: the comparison writes nothing into fixtures/."""
    return Path(shutil.copytree(RECORDED, tmp_path_factory.mktemp("bench") / "runs"))


def _bench(*args: str) -> Result:
    """`python -m conformance bench ARGS` in this process (the CLI's own entry point, without a new interpreter)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["bench", *args])
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def slowdown(store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("slowdown") / "compare"
    return _bench("--store", str(store), "compare", "0003", "--baseline", "0001", "--confirm", "0005",
                  "--out", str(out)), out


def test_a_real_15_percent_slowdown_is_flagged_and_confirmed_by_its_rerun(slowdown: tuple[Result, Path]) -> None:
    result, out = slowdown
    assert result.returncode == 1, f"exit {result.returncode}, expected 1 (confirmed regression):\n{result.stdout}" \
        f"{result.stderr}"
    report = json.loads((out / "compare.json").read_text())
    verdicts = {c["name"]: c for c in report["comparisons"]}
    loop = verdicts[LOOP]
    assert loop["verdict"] == "slower" and loop["confirmed"] is True, f"python-loop: {loop['verdict']} {loop['reason']}"
    assert 1.10 < loop["ratio"] < 1.20, f"ratio {loop['ratio']}, expected about 1.15 (the recorded slowdown)"
    others = [c for n, c in verdicts.items() if n != LOOP and c["verdict"] == "slower"]
    assert not others, f"only python-loop was slowed down, but these are slower too: {others}"
    assert report["verdict"].startswith("REGRESSION"), report["verdict"]


def test_the_same_code_on_a_noisy_machine_is_no_regression(store: Path, tmp_path: Path) -> None:
    result = _bench("--store", str(store), "compare", "0002", "--baseline", "0001", "--no-rerun",
                    "--out", str(tmp_path / "compare"))
    assert result.returncode == 0, f"exit {result.returncode}, expected 0:\n{result.stdout}{result.stderr}"
    report = json.loads((tmp_path / "compare" / "compare.json").read_text())
    slower = [c["name"] for c in report["comparisons"] if c["verdict"] == "slower"]
    assert not slower, f"noise flagged {slower} as slower; expected noisy or no change"
    assert any(c["verdict"] == "noisy" for c in report["comparisons"]), "the noisy run should show as noisy somewhere"


def test_runs_of_different_profiles_are_refused_with_the_reason(store: Path, tmp_path: Path) -> None:
    result = _bench("--store", str(store), "compare", "0004", "--baseline", "0001", "--out", str(tmp_path / "c"))
    assert result.returncode == 2, f"exit {result.returncode}, expected 2 (refused): {result.stdout}{result.stderr}"
    assert "refusing to compare" in result.stderr and "profile 'generic-host' vs 'orin-nx-16gb'" in result.stderr, \
        result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, f"expected one error line: {result.stderr!r}"
    assert not (tmp_path / "c").exists(), "a refused comparison must write no report"


def test_an_unconfirmed_slowdown_does_not_fail_the_gate(store: Path, tmp_path: Path) -> None:
    result = _bench("--store", str(store), "compare", "0003", "--baseline", "0001", "--no-rerun",
                    "--out", str(tmp_path / "c"))
    assert result.returncode == 0, f"exit {result.returncode}: only a confirmed regression may fail CI"
    assert "UNCONFIRMED" in result.stdout, result.stdout


def test_the_report_has_markdown_html_and_one_chart_per_benchmark(slowdown: tuple[Result, Path]) -> None:
    import matplotlib.image

    out = slowdown[1]
    charts = sorted((out / "charts").glob("*.png"))
    assert len(charts) == 3, f"expected one chart per benchmark (3), found {[c.name for c in charts]}"
    for chart in charts:
        height, width = matplotlib.image.imread(chart).shape[:2]
        assert width >= 1000 and height >= 500, f"{chart.name} is {width}x{height}; expected a readable chart"
    markdown = (out / "compare.md").read_text()
    assert markdown.startswith("# REGRESSION") and markdown.count("](charts/") == 3, markdown[:400]
    page = (out / "compare.html").read_text()
    assert page.count("data:image/png;base64,") == 3, "the HTML embeds every chart (self-contained)"


def test_slower_needs_both_the_factor_and_significance() -> None:
    base = [1.0 + 0.001 * i for i in range(30)]
    assert benchstats.judge(base, [x * 1.15 for x in base], LIMITS)[0] == "slower"
    assert benchstats.judge(base, [x * 0.85 for x in base], LIMITS)[0] == "faster"
    assert benchstats.judge(base, [x * 1.05 for x in base], LIMITS)[0] == "no change"
    noisy = [x * (3.0 if i % 2 else 0.9) for i, x in enumerate(base)]  # past the factor, overlapping rounds
    verdict, ratio, p, reason = benchstats.judge(base, noisy, LIMITS)
    assert verdict == "noisy" and p is not None and p >= LIMITS.alpha, (verdict, ratio, p, reason)


def test_too_few_rounds_is_noisy_never_slower() -> None:
    verdict, _, p, reason = benchstats.judge([1.0] * 5, [2.0] * 5, LIMITS)
    assert verdict == "noisy" and p is None and "below the 7" in reason, (verdict, reason)


def test_limits_come_per_benchmark_then_profile_then_defaults() -> None:
    policy = load_policy()
    peer = "x.py::test_t[yolo-opencv_per_class]"
    assert policy.limits(peer, "generic-host").factor == 1.25, "a peer's rule sets its factor"
    assert policy.limits("x.py::test_t[yolo-merger]", "orin-nx-16gb").source == "defaults"
    assert matches("*[*-opencv*]", peer) and not matches("*[*-opencv*]", "x.py::test_t[yolo-merger]")


def test_kept_runs_resolve_by_prefix_and_a_set_baseline_wins(store: Path, tmp_path: Path) -> None:
    runs = list_runs(store)
    assert [r.id[:4] for r in runs] == ["0001", "0002", "0003", "0004", "0005"], [r.id for r in runs]
    latest = resolve("latest", store)
    assert latest.id.startswith("0004"), f"latest is {latest.id}; a re-run (0005) is never the latest run"
    current = resolve("0003", store)
    found, why = baseline_for(current, store, tmp_path / "baselines")
    assert found is not None and found.id.startswith("0002") and "previous kept run" in why, why
    set_baseline(resolve("0001", store), tmp_path / "baselines")
    found, why = baseline_for(current, store, tmp_path / "baselines")
    assert found is not None and found.rounds(LOOP) == resolve("0001", store).rounds(LOOP) and "set" in why, why
    with pytest.raises(BenchError, match="names 0 kept runs"):
        resolve("0042", store)


def test_a_run_saved_without_raw_rounds_is_refused_in_one_line(tmp_path: Path) -> None:
    data = json.loads(next(RECORDED.rglob("0001_*.json")).read_text())
    for bench in data["benchmarks"]:
        bench["stats"].pop("data")
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BenchError, match=r"saved without the raw rounds.*--benchmark-save-data"):
        load_run(path)


def test_bench_run_keeps_every_run_and_never_overwrites(tmp_path: Path) -> None:
    store = tmp_path / "runs"
    args = [sys.executable, "-m", "conformance", "bench", "--store", str(store), "run", "--",
            "fixtures/reports/bench/test_recorded_workload.py", "-q", "-k", "small-dot",
            "--benchmark-max-time=0.01", f"--reports-dir={tmp_path / 'r'}"]
    for _ in range(2):
        result = subprocess.run(args, capture_output=True, text=True, cwd=SOURCE_ROOT, timeout=300, check=False)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    kept = sorted(p.name[:4] for p in store.rglob("*.json"))
    assert kept == ["0001", "0002"], f"expected two kept runs, found {kept}"
    identity = load_run(next(store.rglob("0002_*.json"))).identity
    assert identity["profile"] == "generic-host" and "benchmark_key" in identity, identity.keys()
