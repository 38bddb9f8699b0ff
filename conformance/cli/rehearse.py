"""`rehearse`: the Orin path on arm64 under emulation (conformance.rehearsal; fixtures/rehearsal/arm64.yaml)."""

from __future__ import annotations

import argparse
import time
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "rehearse", help="rehearse the Orin path on arm64 under emulation (device install, jetson tier, NMS)",
        description="On an x86 machine, under qemu-user emulation, in a Debian arm64 root (made once per machine "
                    "with debootstrap, minutes; kept under /var/tmp): install the kit's device extra offline from "
                    "the aarch64 wheels of its lock, run the simulated jetson tier on every good recording and on "
                    "broken ones, build the C++ NMS library for aarch64 and run its contract tests, then build both images for arm64 from their Dockerfiles on stand-ins of the L4T bases and the Jetson torch wheel and run their checks that need no GPU. As root it "
                    "sets up the emulation (qemu-user-static, binfmt_misc) where missing. Every line says ARM64 "
                    "REHEARSAL: this proves the kit's path on the Orin's architecture, not NVIDIA's bases or wheels.")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from conformance import SOURCE_ROOT, work_dir
    from conformance.config.rehearsal import load_rehearsal
    from conformance.rehearsal import steps
    from conformance.rehearsal.emulation import enable_aarch64
    from conformance.rehearsal.images import build_and_check
    from conformance.rehearsal.rootfs import aarch64_wheels, arm64_root, cache_dir, put_kit_and_wheels

    plan = load_rehearsal()
    start = time.monotonic()
    enable_aarch64()
    cache = cache_dir()
    root = arm64_root(plan.root, cache, echo=lambda line: print(f"ARM64 REHEARSAL root: {line}", flush=True),
                      timeout_s=plan.step_timeout_s)
    wheels = aarch64_wheels("wheels", {"": [SOURCE_ROOT / plan.lock]}, plan.root.python_version, cache)
    put_kit_and_wheels(root, wheels)
    print(f"ARM64 REHEARSAL root: {root} ({plan.root.suite} arm64), wheels of {plan.lock} ready "
          f"({time.monotonic() - start:.0f} s)", flush=True)
    for step in (steps.install_device, steps.simulated_tier, steps.nms_contract):
        print(step(root, plan).line(), flush=True)
    print(build_and_check(root, plan, cache, work_dir() / "rehearsal").line(), flush=True)
    print(f"ARM64 REHEARSAL: passed in {time.monotonic() - start:.0f} s", flush=True)
    return 0
