"""`python -m conformance fleet merge DIR...`: many devices' report folders into one fleet report.

Each DIR is one device's reports folder (named after the device). Writes OUT/fleet.{json,xml,md,html}: the
device x criterion table, roll-ups per device model, a KCIDB v5.3 document and one merged JUnit file.
Exit codes: 0 no device unreachable, errored or failed; 1 otherwise; 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance.config.acceptance import CRITERIA, load_criteria
from conformance.config.profiles import PROFILES_DIR


def register(sub: Any) -> None:
    parser = sub.add_parser("fleet", help="merge many devices' report folders into one fleet report",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    merge = actions.add_parser("merge", help="merge report folders (one per device)")
    merge.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="one reports folder per device")
    merge.add_argument("--expect", default="", metavar="NAMES",
                       help="comma-separated devices that must report; one without a folder is UNREACHABLE")
    merge.add_argument("--out", type=Path, default=Path("reports") / "fleet", help="output folder (%(default)s)")
    merge.add_argument("--criteria", type=Path, default=CRITERIA, help="acceptance criteria (default: the kit's)")
    merge.add_argument("--profiles-dir", type=Path, default=PROFILES_DIR, help="device profiles (the kit's)")
    merge.set_defaults(func=_merge)


def _merge(args: argparse.Namespace) -> int:
    from conformance.reports.acceptance import RunFolderError
    from conformance.reports.fleet import merge
    from conformance.reports.fleet_report import headline, write_fleet
    from conformance.reports.junit import JUnitError

    not_dirs = [str(d) for d in args.dirs if not d.is_dir()]
    if not_dirs:
        print(f"error: not a directory: {', '.join(not_dirs)}; expected one reports folder per device "
              "(name a device that did not report with --expect)", file=sys.stderr)
        return 2
    criteria = load_criteria(args.criteria)
    expected = [n.strip() for n in args.expect.split(",") if n.strip()]
    if not args.dirs and not expected:
        print("error: no report folder given; expected DIR... (one per device) or --expect NAMES", file=sys.stderr)
        return 2
    try:
        fleet = merge(list(args.dirs), criteria, expected, args.profiles_dir)
        files = write_fleet(fleet, args.out)
    except (RunFolderError, JUnitError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"fleet: {headline(fleet)}")
    for device in fleet.devices:
        print(f"  {device.id}: {device.status} ({device.model}){': ' + device.problem if device.problem else ''}")
    print(f"fleet: wrote {', '.join(str(f) for f in files)}")
    return fleet.exit_code()
