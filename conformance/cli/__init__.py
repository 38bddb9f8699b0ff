"""The kit's command line. Each command is a module of this package with `register(subparsers)`; a command's
function returns the exit code, and a `KitError` it raises becomes one `error:` line and exit code 2."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Command modules, in the order `--help` lists them.
COMMANDS = ("doctor", "engine", "images", "compose", "lock", "rehearse", "bench", "signoff", "fleet", "explain")

#: Errors that mean bad input or an unusable machine (one line, exit 2), not a bug (a traceback).
KIT_ERRORS: tuple[type[Exception], ...] = ()


def _kit_errors() -> tuple[type[Exception], ...]:
    from conformance.config import ConfigError
    from conformance.docker.builder import ImageBuildError
    from conformance.docker.context import ContextError
    from conformance.docker.compose import ComposeError
    from conformance.docker.stack import StackError
    from conformance.docker.engine import EngineError
    from conformance.docker.wheelhouse import WheelhouseError
    from conformance.device.recordings import RecordingError
    from conformance.locks import LockError
    from conformance.rehearsal import RehearsalError

    return (ConfigError, EngineError, ImageBuildError, ContextError, WheelhouseError, ComposeError, StackError,
            RecordingError, LockError, RehearsalError, *KIT_ERRORS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Orin conformance kit: what this machine can run, the local Docker engine, the reference "
                    "images. The checks themselves run under pytest (see the README).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"conformance.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except _kit_errors() as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
