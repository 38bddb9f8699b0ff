"""`engine up|ensure|status|prune`: a local Docker engine for machines that have none running (CI, VMs), and disk
room for a run."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("engine", help="local Docker engine for machines that have none running (CI, VMs)")
    parser.add_argument("action", choices=["up", "ensure", "status", "prune"],
                        help="up: start dockerd if needed and build the stand-in base images (idempotent); "
                             "ensure: the same where it may (root), else name the one command to run "
                             "(what `make conformance` does first); status: say whether an engine answers; "
                             "prune: remove the kit's images and build cache that no later run reuses, then fail "
                             "(exit 2) when Docker's data root has less free disk than a run needs, after "
                             "removing all of the kit's images and build cache (fixtures/engine/disk.yaml)")
    parser.add_argument("--install", action="store_true",
                        help="apt-get install docker.io and debootstrap when missing (root)")
    parser.add_argument("--no-bases", action="store_true", help="do not build the stand-in base images")
    parser.add_argument("--no-check", action="store_true",
                        help="prune: only remove what no later run reuses; do not check the free disk")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from conformance.docker.bootstrap import engine_up
    from conformance.docker.engine import EngineError, docker_clients, engine_problem

    if args.action == "up":
        engine_up(install=args.install, bases=not args.no_bases)
        return 0
    if args.action == "ensure":
        from conformance.docker.bootstrap import ensure_engine

        ensure_engine(bases=not args.no_bases)
        return 0
    if args.action == "prune":
        from conformance.config.engine import load_disk_policy
        from conformance.docker.disk import make_room

        if problem := engine_problem():
            raise EngineError(problem)
        make_room(docker_clients()[0], load_disk_policy(), check=not args.no_check)
        return 0
    problem = engine_problem()
    print(problem or "engine: answering")
    return 1 if problem else 0
