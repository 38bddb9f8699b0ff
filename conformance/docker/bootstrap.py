"""`python -m conformance engine up`: install and start a local engine where none runs, then the stand-in bases."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from conformance.docker.bases import ensure_stand_in_bases, stand_in_tags
from conformance.docker.builder import detect_builder
from conformance.docker.engine import EngineError, docker_clients, engine_problem, install_packages, start_daemon

#: The one command that sets a machine up when this process may not (not root).
SETUP_COMMAND = "sudo make engine"


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


def ensure_engine(bases: bool = True, say: Callable[[str], object] = print) -> bool:
    """Before a run: bring up the engine and the stand-in bases where they are missing and this process may
    (root); else say, in one line, the one command to run. Never fails the run: without an engine the docker
    checks skip, naming the same command. Returns whether the engine and bases are ready."""
    problem = engine_problem()
    missing = [] if problem else [tag for tag, why in stand_in_tags(docker_clients()[0]) if why] if bases else []
    if not problem and not missing:
        say("engine: answering; stand-in bases present")
        return True
    if os.geteuid() != 0:
        what = problem or f"stand-in base images missing or stale: {', '.join(missing)}"
        say(f"engine: {what}; run `{SETUP_COMMAND}` once (root: installs and starts Docker, builds the bases), "
            "then this again; the docker checks skip until then")
        return False
    try:
        engine_up(install=True, bases=bases, say=say)
    except EngineError as error:
        say(f"engine: could not bring it up: {error}; the docker checks will skip")
        return False
    return True
