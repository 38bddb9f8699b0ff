"""`python -m conformance signoff [DIR]` and `signoff --verify DIR`: the acceptance sign-off of a run.

Reads the run's summary.json (its identity) and JUnit file from DIR (default ./reports), judges every
criterion of the criteria file, writes DIR/acceptance.{md,html,json} and the tamper evidence DIR/evidence/.
Exit codes: 0 SIGNED (or, with --verify, every digest matches), 1 NOT SIGNED (or a file changed), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance.config.acceptance import CRITERIA, load_criteria
from conformance.config.profiles import PROFILES_DIR


def register(sub: Any) -> None:
    parser = sub.add_parser("signoff", help="acceptance sign-off of a run (reports/acceptance.md, .html), "
                            "or --verify a signed folder", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", nargs="?", type=Path, default=Path("reports"),
                        help="the run's reports folder (default: %(default)s)")
    parser.add_argument("--verify", metavar="DIR", type=Path, default=None,
                        help="verify the evidence of a signed-off folder instead: every file's sha256")
    parser.add_argument("--criteria", type=Path, default=CRITERIA, help="acceptance criteria (default: the kit's)")
    parser.add_argument("--profiles-dir", type=Path, default=PROFILES_DIR,
                        help="device profiles holding the thresholds (default: the kit's)")
    parser.set_defaults(func=_main)


def _verify(folder: Path) -> int:
    from conformance.reports.evidence import EvidenceError, verify

    try:
        outcome = verify(folder)
    except EvidenceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for note in outcome.notes:
        print(f"note: {note}")
    if outcome.problems:
        for problem in outcome.problems:
            print(f"TAMPERED: {problem}")
        print(f"signoff: verification FAILED for {folder}: {len(outcome.problems)} problem(s)")
        return 1
    print(f"signoff: verified {folder}: every file matches its manifest digest; statement result {outcome.result}")
    return 0


def _main(args: argparse.Namespace) -> int:
    if args.verify is not None:
        return _verify(args.verify)
    from conformance.reports.acceptance import SIGNED, RunFolderError, evaluate, load_run_folder
    from conformance.reports.evidence import write_evidence
    from conformance.reports.signoff_report import write_signoff

    criteria = load_criteria(args.criteria)
    try:
        folder = load_run_folder(args.dir)
    except RunFolderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    acceptance = evaluate(criteria, folder, args.profiles_dir)
    written = write_signoff(acceptance, args.criteria)
    configuration = {"criteria": args.criteria}
    profile_file = args.profiles_dir / f"{folder.run.get('profile')}.yaml"
    if profile_file.is_file():
        configuration["profile"] = profile_file
    by_status: dict[str, list[str]] = {"PASS": [], "WARN": [], "FAIL": []}
    for result in acceptance.results:
        bucket = "PASS" if result.status == "PASS" else "FAIL" if result.status in ("FAIL", "NOT RUN") else "WARN"
        by_status[bucket].append(result.criterion.id)
    statement = write_evidence(args.dir, folder.run, acceptance.verdict, by_status["PASS"], by_status["WARN"],
                               by_status["FAIL"], configuration)
    counts: dict[str, int] = {}
    for result in acceptance.results:
        counts[result.status] = counts.get(result.status, 0) + 1
    print(f"signoff: {acceptance.verdict} ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})")
    for blocker in acceptance.blockers:
        print(f"  blocks: {blocker}")
    print(f"signoff: wrote {', '.join(str(p) for p in written)}, {statement.parent}/")
    return 0 if acceptance.verdict == SIGNED else 1
