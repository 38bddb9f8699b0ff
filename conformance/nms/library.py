"""The libnms_merger build under test: where the release build lives and how to make it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conformance import SOURCE_ROOT

NMS_DIR = SOURCE_ROOT / "nms_cpp"
DEFAULT_LIB = NMS_DIR / "libnms_merger.so"


class NmsBuildError(RuntimeError):
    """`make -C nms_cpp` failed; the message carries the compiler output."""


def build_default_library() -> Path:
    """``make -C nms_cpp all`` (release, sanitizer and known-bad builds); raises with the compiler output."""
    proc = subprocess.run(["make", "-C", str(NMS_DIR), "all"], capture_output=True, text=True, timeout=600,
                          check=False)
    if proc.returncode != 0:
        raise NmsBuildError(f"`make -C {NMS_DIR} all` failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return DEFAULT_LIB
