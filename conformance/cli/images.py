"""`images wheelhouse|build-args`: the reference images' helpers that `images/build.sh` and make call."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from conformance import IMAGES_DIR, work_dir
from conformance.config import ConfigError


def register(sub: Any) -> None:
    parser = sub.add_parser("images", help="helpers for the reference images (wheelhouse, build args)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    wheels = actions.add_parser("wheelhouse", help="download the generic builds' wheels (idempotent)")
    wheels.add_argument("--images-dir", type=Path, default=IMAGES_DIR, help="tree whose requirements to fetch")
    wheels.set_defaults(func=_wheelhouse)
    args = actions.add_parser("build-args", help="print the --build-arg options of a variant, one per line")
    args.add_argument("variant", help="generic or jetson (fixtures/images/variants.yaml)")
    args.set_defaults(func=_build_args)


def _wheelhouse(args: argparse.Namespace) -> int:
    from conformance.docker.wheelhouse import build_wheelhouse

    print(build_wheelhouse(work_dir() / "wheelhouse", images_dir=args.images_dir))
    return 0


def _build_args(args: argparse.Namespace) -> int:
    from conformance.config.images import load_variants
    from conformance.docker.wheelhouse import variant_build_args

    variants, _ = load_variants()
    if args.variant not in variants:
        raise ConfigError(f"unknown variant {args.variant!r}; expected one of {', '.join(variants)}")
    for key, value in variant_build_args(variants[args.variant], work_dir() / "wheelhouse").items():
        print(f"--build-arg={key}={value}")
    return 0
