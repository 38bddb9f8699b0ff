"""`engine up|ensure|status`: a local Docker engine for machines that have none running (CI, VMs)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("engine", help="local Docker engine for machines that have none running (CI, VMs)")
    parser.add_argument("action", choices=["up", "ensure", "status"],
                        help="up: start dockerd if needed and build the stand-in base images (idempotent); "
                             "ensure: the same where it may (root), else name the one command to run "
                             "(what `make conformance` does first); status: say whether an engine answers")
    parser.add_argument("--install", action="store_true",
                        help="apt-get install docker.io and debootstrap when missing (root)")
    parser.add_argument("--no-bases", action="store_true", help="do not build the stand-in base images")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from conformance.docker.bootstrap import engine_up
    from conformance.docker.engine import engine_problem

    if args.action == "up":
        engine_up(install=args.install, bases=not args.no_bases)
        return 0
    if args.action == "ensure":
        from conformance.docker.bootstrap import ensure_engine

        ensure_engine(bases=not args.no_bases)
        return 0
    problem = engine_problem()
    print(problem or "engine: answering")
    return 1 if problem else 0
