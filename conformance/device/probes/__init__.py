"""Probes that run where the facts are: scripts shipped as package data, copied (bind-mounted read-only) into
any image under test. Each prints one JSON document of facts on its last stdout line and never fails itself:
what went wrong is a fact. Standard library only, Python 3.8 or later (L4T r36 images ship Python 3.10)."""

from __future__ import annotations

from pathlib import Path

PROBES_DIR = Path(__file__).resolve().parent
GPU_PROBE = PROBES_DIR / "gpu_probe.py"
#: Where the probes directory is mounted inside a container under test.
CONTAINER_PROBES_DIR = "/opt/orin-kit-probes"
