"""`doctor`: what this machine can run (engine, builder, GPU, Jetson, L4T/JetPack/CUDA, profile) and why."""

from __future__ import annotations

import argparse
from typing import Any

from conformance.config.profiles import ProfileError, load_profiles


def register(sub: Any) -> None:
    parser = sub.add_parser("doctor", help="print what this machine can run (engine, builder, GPU, Jetson, "
                                           "L4T/JetPack/CUDA, profile) and why")
    parser.add_argument("--root", default="/", help="filesystem root to probe (a device tree copied from an Orin)")
    parser.add_argument("--simulate-device", metavar="NAME", default=None,
                        help="read the recorded device NAME (fixtures/devices/NAME, or a path): SIMULATED")
    parser.add_argument("--profile", default=None, help="force a device profile instead of detecting it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from conformance import doctor

    if args.profile is not None and args.profile not in (known := load_profiles()):
        raise ProfileError(f"--profile {args.profile!r}: no such profile; expected one of {', '.join(known)}")
    print(doctor.render(doctor.diagnose(root=args.root, forced_profile=args.profile,
                                        simulate=args.simulate_device)))
    return 0
