"""The arm64 rehearsal of the Orin path: on an x86 machine, under qemu-user emulation, in a Debian arm64 root,
the device install from its lock, the simulated jetson tier on good and broken recordings, and the C++ library
built and held to its contract (`python -m conformance rehearse`; fixtures/rehearsal/arm64.yaml says what).

- emulation.py: qemu-user-static registered with the kernel's binfmt_misc for aarch64 binaries;
- rootfs.py: the arm64 root (debootstrap, cached per machine by its recipe) and commands run inside it;
- steps.py: the rehearsal's steps, each returning what it proved or raising RehearsalError.

A rehearsal proves the kit's path and rules on the Orin's architecture; it never proves that NVIDIA's bases or
wheels behave, and every line it prints says ARM64 REHEARSAL.
"""

from __future__ import annotations


class RehearsalError(RuntimeError):
    """A step of the rehearsal failed; the message names the step, what was found and what to do."""
