"""aarch64 binaries on an x86 host: qemu-user-static, registered with the kernel's binfmt_misc."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from conformance.rehearsal import RehearsalError

BINFMT = Path("/proc/sys/fs/binfmt_misc")
PACKAGES = ("qemu-user-static", "binfmt-support", "debootstrap")


def aarch64_problem(binfmt: Path = BINFMT) -> str | None:
    """None when this machine runs aarch64 binaries (natively or through an enabled qemu handler), else why not."""
    if platform.machine() in ("aarch64", "arm64"):
        return None
    handler = binfmt / "qemu-aarch64"
    if not handler.is_file():
        return (f"no qemu-aarch64 handler in {binfmt}: as root, `apt-get install {' '.join(PACKAGES)}`, "
                f"`mount -t binfmt_misc binfmt_misc {binfmt}` and `update-binfmts --enable qemu-aarch64`")
    if not handler.read_text().startswith("enabled"):
        return f"{handler} is disabled: `update-binfmts --enable qemu-aarch64` (root)"
    if shutil.which("debootstrap") is None:
        return f"debootstrap is missing: `apt-get install {' '.join(PACKAGES)}` (root)"
    return None


def enable_aarch64(binfmt: Path = BINFMT) -> None:
    """Install and register qemu-user for aarch64 where missing (root); raise RehearsalError saying what failed."""
    if aarch64_problem(binfmt) is None:
        return
    if os.geteuid() != 0:
        raise RehearsalError(f"arm64 emulation is not set up and this is not root: {aarch64_problem(binfmt)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [["apt-get", "-o", "Acquire::Retries=5", "update", "-qq"],
             ["apt-get", "-o", "Acquire::Retries=5", "install", "-y", "-qq", *PACKAGES]]
    if not (binfmt / "register").exists():
        steps.append(["mount", "-t", "binfmt_misc", "binfmt_misc", str(binfmt)])
    steps.append(["update-binfmts", "--enable", "qemu-aarch64"])
    for argv in steps:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False, env=env)
        if result.returncode != 0:
            raise RehearsalError(f"`{' '.join(argv)}` failed (exit {result.returncode}): "
                                 f"{result.stderr.strip()[-400:]}; expected arm64 emulation set up")
    if problem := aarch64_problem(binfmt):
        raise RehearsalError(f"arm64 emulation still unusable after setting it up: {problem}")
