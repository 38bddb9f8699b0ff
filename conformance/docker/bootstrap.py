"""`python -m conformance engine up`: install and start a local engine where none runs, then the stand-in bases."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from conformance.docker.bases import ensure_stand_in_bases
from conformance.docker.builder import detect_builder
from conformance.docker.engine import EngineError, engine_problem, install_packages, start_daemon


def engine_up(install: bool, bases: bool = True, say: Callable[[str], object] = print) -> None:
    """Idempotently: install the engine (if allowed), start it, build the stand-in bases."""
    if install:
        install_packages(["docker.io", "debootstrap"])
    elif not shutil.which("dockerd") and engine_problem() is not None:
        raise EngineError("no engine running and dockerd is not installed: rerun with --install (root)")
    start_daemon()
    builder = detect_builder()
    say(f"engine: answering; builder: {builder.kind} via {builder.docker}")
    if bases:
        ensure_stand_in_bases(say=say)
