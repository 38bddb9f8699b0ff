"""Command line of the kit: `python -m conformance doctor | engine up | profiles`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conformance.engine import EngineError
from conformance.profiles import ProfileError


def _cmd_engine(args: argparse.Namespace) -> int:
    from conformance import engine

    if args.action == "up":
        engine.engine_up(install=args.install, bases=not args.no_bases)
    else:
        problem = engine.engine_problem()
        print(problem or "engine: answering")
        return 1 if problem else 0
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from conformance import doctor
    from conformance.profiles import load_profiles

    if args.profile is not None and args.profile not in (known := load_profiles()):
        raise ProfileError(f"--profile {args.profile!r}: no such profile; expected one of {', '.join(known)}")
    print(doctor.render(doctor.diagnose(root=args.root, forced_profile=args.profile)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Orin conformance kit: what this machine can run, and the local Docker engine bootstrap.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="print what this machine can run (engine, builder, GPU, Jetson, "
                                           "L4T/JetPack/CUDA, profile) and why")
    doctor.add_argument("--root", default="/", help="filesystem root to probe (a recorded device tree in tests)")
    doctor.add_argument("--profile", default=None, help="force a device profile instead of detecting it")
    doctor.set_defaults(func=_cmd_doctor)

    eng = sub.add_parser("engine", help="local Docker engine for machines that have none running (CI, VMs)")
    eng.add_argument("action", choices=["up", "status"],
                     help="up: start dockerd if needed and build the stand-in base images (idempotent); "
                          "status: say whether an engine answers")
    eng.add_argument("--install", action="store_true",
                     help="apt-get install docker.io and debootstrap when missing (root)")
    eng.add_argument("--no-bases", action="store_true", help="do not build the stand-in base images")
    eng.set_defaults(func=_cmd_engine)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (EngineError, ProfileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
