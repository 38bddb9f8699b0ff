"""`python -m conformance bench run|compare|baseline|list`: keep benchmark runs, compare them, gate on regressions.

Exit codes of `bench compare`: 0 no confirmed regression (noisy or unconfirmed changes included), 1 a
regression confirmed by a re-run, 2 bad input or runs that may not be compared (different keys).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conformance.config.benchmarks import REGRESSION, load_policy
from conformance.reports.benchstore import (BASELINES, STORE, BenchError, BenchRun, baseline_for, check_comparable,
                                            history, list_runs, resolve, set_baseline)
from conformance.reports.identity import key_slug
from conformance.reports.session import RERUN_ENV


def register(sub: Any) -> None:
    parser = sub.add_parser("bench", help="keep benchmark runs, compare a run with its baseline (regression gate)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=STORE, help="kept runs (default: %(default)s)")
    parser.add_argument("--baselines", type=Path, default=BASELINES,
                        help="baselines chosen per key (default: %(default)s)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    run = actions.add_parser("run", help="run benchmarks with pytest-benchmark, keeping the run (never overwritten)")
    run.add_argument("pytest_args", nargs="*", help="pytest arguments (after --), e.g. -- tests conformance")
    run.set_defaults(func=_run)

    compare = actions.add_parser("compare", help="compare RUN (default: latest) with its baseline")
    compare.add_argument("run", nargs="?", default="latest", help="a run: path, 'latest', or id prefix (0003)")
    compare.add_argument("--baseline", default=None, help="compare with this run instead of the key's baseline")
    compare.add_argument("--confirm", default=None, metavar="RUN",
                         help="use this kept run as the re-run of the flagged benchmarks (do not run them)")
    compare.add_argument("--no-rerun", action="store_true", help="report slower benchmarks unconfirmed")
    compare.add_argument("--no-gate", action="store_true",
                         help="exit 0 even on a confirmed regression (report only, e.g. CI on a shared machine)")
    compare.add_argument("--policy", type=Path, default=REGRESSION, help="regression limits (default: the kit's)")
    compare.add_argument("--out", type=Path, default=Path("reports") / "benchmarks" / "compare",
                         help="where compare.md/.html/.json and charts/ go (default: %(default)s)")
    compare.set_defaults(func=_compare)

    baseline = actions.add_parser("baseline", help="make RUN the baseline of its key (a copy under --baselines)")
    baseline.add_argument("run")
    baseline.set_defaults(func=_baseline)

    listing = actions.add_parser("list", help="list kept runs with their key")
    listing.set_defaults(func=_list)


def _pytest_argv(store: Path, args: list[str], reports_dir: Path | None = None) -> list[str]:
    """pytest with pytest-benchmark keeping the run in store (numbered files, raw rounds included)."""
    own = [f"--reports-dir={reports_dir}"] if reports_dir is not None else []
    return [sys.executable, "-m", "pytest", "--benchmark-only", "--benchmark-autosave", "--benchmark-save-data",
            f"--benchmark-storage=file://{store.resolve()}", "-p", "no:cacheprovider", *own, *args]


def _run(args: argparse.Namespace) -> int:
    pytest_args = list(args.pytest_args) or ["tests", "conformance", "-m", "benchmark"]
    return subprocess.call(_pytest_argv(args.store, pytest_args))


def _rerun(run: BenchRun, names: list[str], store: Path) -> BenchRun:
    """Run only the flagged benchmarks again, as the original run did (profile, device root), and keep it."""
    identity = run.identity
    extra = [f"--profile={identity['profile']}"] if identity.get("profile") else []
    invocation = [str(a) for a in identity.get("invocation", [])]
    for i, arg in enumerate(invocation):  # a simulated run is re-run on the same recording
        if arg.startswith("--simulate-device="):
            extra.append(arg)
        elif arg == "--simulate-device" and i + 1 < len(invocation):
            extra += [arg, invocation[i + 1]]
    print(f"bench: re-running {len(names)} flagged benchmark(s) of {run.id} to confirm", file=sys.stderr)
    sessions = store.parent / "sessions" / f"rerun-{run.id.split('_')[0]}-{os.getpid()}"  # keep reports/summary.json
    code = subprocess.call(_pytest_argv(store, [*names, *extra], sessions), env={**os.environ, RERUN_ENV: run.id})
    mine = [r for r in list_runs(store) if r.rerun_of == run.id]
    if code not in (0, 1) or not mine:
        raise BenchError(f"re-running {names} exited {code} and kept no run; cannot confirm the regression")
    return mine[-1]


def _compare(args: argparse.Namespace) -> int:
    from conformance.reports.benchreport import write_report
    from conformance.reports.benchstats import compare_runs, confirm, exit_code, flagged

    try:
        policy = load_policy(args.policy)
        current = resolve(args.run, args.store)
        if args.baseline:
            baseline, why = resolve(args.baseline, args.store), f"chosen with --baseline {args.baseline}"
        else:
            found, why = baseline_for(current, args.store, args.baselines)
            if found is None:
                print(f"bench: nothing to compare {current.id} with: {why}; it is the first of its key")
                return 0
            baseline = found
        check_comparable(current, baseline)
        comparisons = compare_runs(current, baseline, policy)
        rerun = None
        if names := flagged(comparisons):
            if args.confirm:
                rerun = resolve(args.confirm, args.store)
                check_comparable(rerun, baseline)
            elif not args.no_rerun:
                rerun = _rerun(current, names, args.store)
            if rerun is not None:
                confirm(comparisons, rerun, baseline)
        payload = write_report(comparisons, current, baseline, why, history(current, args.store), rerun, args.out)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"bench: {payload['verdict']}")
    for item in comparisons:
        print(f"  {item.verdict:<9} {item.name}: {item.reason}")
    print(f"bench: report {args.out / 'compare.md'}, {args.out / 'compare.html'}")
    code = exit_code(comparisons)
    return 0 if args.no_gate else code


def _baseline(args: argparse.Namespace) -> int:
    try:
        target = set_baseline(resolve(args.run, args.store), args.baselines)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"bench: baseline of its key is now {target} (commit it to share it)")
    return 0


def _list(args: argparse.Namespace) -> int:
    try:
        runs = list_runs(args.store)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for run in runs:
        rerun = f" re-run of {run.rerun_of}" if run.rerun_of else ""
        print(f"{run.id}  {run.when}  {run.revision}  {key_slug(run.key)}  {len(run.benchmarks())} benchmarks{rerun}")
    if not runs:
        print(f"no kept runs under {args.store}")
    return 0
