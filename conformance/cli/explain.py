"""`explain FILE|-`: diagnose a log a user pastes (a container log, a build log, a traceback): one line per known
failure found, with its cause, the fix and the source (fixtures/diagnoses.yaml; docs/failures.md lists them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EPILOG = """exit codes:
  0  no known failure in the log
  1  at least one known failure found (one line each on stdout)
  2  bad input: no such file, unreadable, or empty"""


def register(sub: Any) -> None:
    parser = sub.add_parser("explain", help="diagnose a pasted log: the known Jetson failures it shows, with cause, "
                                            "fix and source", description=__doc__, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", metavar="FILE|-", nargs="?", help="the log to read; - reads standard input")
    parser.add_argument("--list", action="store_true",
                        help="print every known failure as a Markdown table (the one in docs/failures.md) and exit")
    parser.set_defaults(func=run)


def table() -> str:
    """Every known failure as the Markdown table of docs/failures.md."""
    from conformance.config.diagnoses import load_diagnoses

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| id | what users see | cause | fix | source |", "| --- | --- | --- | --- | --- |"]
    rows += [f"| `{d.id}`{' (crash)' if d.crash else ''} | `{cell(d.example)}` | {cell(d.cause)} | {cell(d.fix)} | "
             f"{cell(d.source)} |" for d in load_diagnoses()]
    return "\n".join(rows) + "\n"


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.buffer.read().decode("utf-8", "replace")
    return Path(name).read_bytes().decode("utf-8", "replace")


def run(args: argparse.Namespace) -> int:
    from conformance.device.diagnosis import diagnose

    if args.list:
        print(table(), end="")
        return 0
    if args.log is None:
        print("error: expected a log FILE, - for standard input, or --list", file=sys.stderr)
        return 2
    where = "standard input" if args.log == "-" else args.log
    try:
        text = _read(args.log)
    except FileNotFoundError:
        print(f"error: {where}: no such file; expected a log file, or - to read standard input", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {where}: cannot read it ({error.strerror}); expected a readable log file", file=sys.stderr)
        return 2
    if not text.strip():
        print(f"error: {where} is empty; expected the log to diagnose", file=sys.stderr)
        return 2
    findings = diagnose(text)
    for finding in findings:
        d = finding.diagnosis
        print(f"{d.id} (line {finding.line_number}): {d.cause}; fix: {d.fix}; source: {d.source}")
    if not findings:
        print(f"no known failure in {len(text.splitlines())} line(s) of {where} (the known ones: docs/failures.md)",
              file=sys.stderr)
    return 1 if findings else 0
