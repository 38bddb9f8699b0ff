"""`lock [--check] [--upgrade]`: make the lock files every install of the kit and its images comes from."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance import IMAGES_DIR


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "lock", help="make the lock files (locks/, images/locks/) from the requirements; --check finds stale ones",
        description="Resolve every requirement the kit's venv and the generic images' wheelhouse install into "
                    "lock files with hashes (uv pip compile). Locks keep their pins where these still satisfy "
                    "the requirements; --upgrade resolves everything anew. A lock is stale when its inputs "
                    "(pyproject.toml's dependencies, a requirements file, fixtures/images/wheelhouse.yaml) "
                    "changed since it was made: --check lists those and exits 1.")
    parser.add_argument("--check", action="store_true", help="make nothing; exit 1 when any lock is stale")
    parser.add_argument("--upgrade", action="store_true", help="resolve anew instead of keeping current pins")
    parser.add_argument("--images-dir", type=Path, default=IMAGES_DIR,
                        help="the images tree whose wheelhouse locks to make (default: the kit's images/)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from conformance.locks import LockError, all_locks, find_uv, make_lock, stale_locks

    if not args.images_dir.is_dir():
        raise LockError(f"--images-dir {args.images_dir} is not a directory; expected an images tree laid out like "
                        "the kit's images/")
    locks = all_locks(images_dir=args.images_dir)
    if args.check:
        stale = stale_locks(locks)
        for line in stale:
            print(f"stale: {line}", file=sys.stderr)
        print(f"lock: {len(locks) - len(stale)} of {len(locks)} locks current")
        return 1 if stale else 0
    # Every input first: a tree missing one gets no lock at all, rather than some.
    if missing := sorted({str(source) for lock in locks for source in lock.sources if not source.is_file()}):
        raise LockError(f"{', '.join(missing)} missing; expected every requirement file the locks are made from "
                        "(nothing was written)")
    uv = find_uv()
    for number, lock in enumerate(locks, 1):
        if lock.stale() is None and not args.upgrade:
            print(f"lock [{number}/{len(locks)}] {lock.path}: current")
            continue
        print(f"lock [{number}/{len(locks)}] {lock.path}: resolving {lock.title} ...", flush=True)
        make_lock(lock, uv, upgrade=args.upgrade)
    return 0
