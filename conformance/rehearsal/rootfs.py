"""The Debian arm64 root the rehearsal runs in, and running commands inside it.

The root is made once per machine and recipe (debootstrap, minutes under emulation) and kept outside any
checkout, like the engine's images, so that fresh clones reuse it; a changed recipe makes a new root, and
another recipe's root is removed once no run has used it for a day (a concurrent run may be using it now). Commands run chrooted in a private mount namespace whose /proc vanishes with it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from conformance import IN_CHECKOUT, SOURCE_ROOT
from conformance.config.rehearsal import RootRecipe
from conformance.rehearsal import RehearsalError
from conformance.util.files import link_or_copy

#: What of a checkout the rehearsal copies into the root (as /opt/kit): the suite, the apps, the library's
#: sources, the data, the tests it runs and the locks.
KIT_PARTS = ("conformance", "app", "nms_cpp", "fixtures", "tests", "locks", "conftest.py", "pyproject.toml")
KIT_IN_ROOT = "/opt/kit"
WHEELS_IN_ROOT = "/opt/wheels"
AARCH64_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64", "linux_aarch64")


def cache_dir() -> Path:
    """Per machine user, outside checkouts; ORIN_KIT_REHEARSAL_CACHE moves it."""
    return Path(os.environ.get("ORIN_KIT_REHEARSAL_CACHE") or f"/var/tmp/orin-kit-{os.getuid()}/arm64")


def arm64_root(recipe: RootRecipe, cache: Path, echo: Callable[[str], object] = print,
               timeout_s: float = 1800) -> Path:
    """The root of recipe, made now with debootstrap unless this machine has it (then seconds)."""
    dest = cache / f"root-{recipe.digest()}"
    if (dest / ".complete").is_file():
        (dest / ".complete").touch()  # in use: not stale
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / f".staging-root-{recipe.digest()}"
    shutil.rmtree(staging, ignore_errors=True)
    echo(f"debootstrap --arch=arm64 {recipe.suite} with {', '.join(recipe.packages)} (minutes under emulation) ...")
    argv = ["debootstrap", "--arch=arm64", "--variant=minbase", f"--include={','.join(recipe.packages)}",
            recipe.suite, str(staging)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RehearsalError(f"debootstrap of the arm64 root ran over {timeout_s:.0f} s; expected it within that "
                             "(a slow mirror or a busy machine: run again)") from exc
    if result.returncode != 0:
        log = staging / "debootstrap" / "debootstrap.log"
        tail = log.read_text()[-800:] if log.is_file() else result.stderr[-800:]
        shutil.rmtree(staging, ignore_errors=True)
        raise RehearsalError(f"debootstrap of the arm64 root failed (exit {result.returncode}): {tail.strip()}; "
                             "expected Debian's arm64 packages reachable and qemu-aarch64 registered")
    (staging / ".complete").write_text(recipe.model_dump_json())
    staging.rename(dest)
    remove_stale(cache, "root-*", dest)
    return dest


#: A root or wheel set of another recipe unused this long is removed (a concurrent run may still use a newer one).
STALE_AFTER_S = 86400


def remove_stale(cache: Path, pattern: str, keep: Path) -> None:
    """Other recipes' roots (or wheel sets) that no run has used for a day: a changed recipe never reuses them."""
    now = time.time()
    for old in cache.glob(pattern):
        stamp = old / ".complete"
        if old != keep and stamp.is_file() and now - stamp.stat().st_mtime > STALE_AFTER_S:
            shutil.rmtree(old, ignore_errors=True)


def aarch64_wheels(name: str, groups: Mapping[str, Sequence[Path]], python_version: str, cache: Path) -> Path:
    """Every wheel of each group's locks for aarch64 (hash-checked) in a folder per group ('' for the top),
    downloaded on this host once per lock content: `cache/NAME-DIGEST`."""
    from conformance.docker.wheelhouse import WheelhouseError, pip_download
    from conformance.util.files import sha256_of

    key = "".join(f"{group}:{sha256_of(lock)}" for group, locks in groups.items() for lock in locks)
    dest = cache / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if (dest / ".complete").is_file():
        (dest / ".complete").touch()  # in use: not stale
        return dest
    staging = cache / f".staging-{dest.name}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for group, locks in groups.items():
            (staging / group).mkdir(parents=True, exist_ok=True)
            for lock in locks:
                pip_download(["--no-deps", "--require-hashes", "-r", str(lock)], staging / group, python_version,
                             platforms=AARCH64_PLATFORMS)
    except WheelhouseError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise RehearsalError(f"the aarch64 wheels for {name}: {exc}") from exc
    (staging / ".complete").write_text(key)
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    remove_stale(cache, f"{name}-*", dest)
    return dest


def put_kit_and_wheels(root: Path, wheels: Path) -> None:
    """A fresh copy of this checkout's kit at /opt/kit and the wheels at /opt/wheels (nothing left from before:
    no host-built library, no bytecode)."""
    if not IN_CHECKOUT:
        raise RehearsalError(f"the rehearsal runs from a checkout of the kit (it copies its tests and locks); "
                             f"{SOURCE_ROOT} is an installed kit")
    kit = root / KIT_IN_ROOT.lstrip("/")
    shutil.rmtree(kit, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "build", ".hypothesis")
    for part in KIT_PARTS:
        source = SOURCE_ROOT / part
        if source.is_dir():
            shutil.copytree(source, kit / part, ignore=ignore)
        else:
            kit.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, kit / part)
    target = root / WHEELS_IN_ROOT.lstrip("/")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(wheels, target, copy_function=link_or_copy)


def run_in(root: Path, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str = "/",
           timeout_s: float = 1800) -> subprocess.CompletedProcess[str]:
    """argv inside root (aarch64, emulated), with /proc mounted in a private mount namespace and a clean env."""
    clean = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
             "LANG": "C.UTF-8", **(env or {})}
    inner = ["chroot", str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in clean.items()),
             "sh", "-c", 'cd "$0" && exec "$@"', cwd, *argv]
    outer = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t proc proc "$0/proc" && exec "$@"', str(root), *inner]
    try:
        return subprocess.run(outer, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RehearsalError(f"`{' '.join(argv)}` in the arm64 root ran over {timeout_s:.0f} s under emulation; "
                             "expected it within fixtures/rehearsal/arm64.yaml's step_timeout_s") from exc
