"""Conformance kit for NVIDIA Jetson Orin containers: checks, plugin, probes, oracles and reports.

Where things are, whether the kit runs from a checkout or from an installed wheel:

- ``CHECKS_DIR``: the conformance checks (``conformance/checks/<area>/test_*.py``);
- ``FIXTURES_DIR``: profiles, criteria, recorded devices, known-bad inputs. In a checkout it is the
  repository's top-level ``fixtures/``; in a wheel the same files are package data (``conformance/fixtures``);
- ``SOURCE_ROOT``: the tree holding ``app/``, ``nms_cpp/`` and ``images/`` (the images' build context):
  the checkout, or the installed site-packages directory (the wheel carries ``app`` and ``nms_cpp``);
- ``work_dir()``: where generated assets go (``build/`` of a checkout, else ``./.orin-kit``; override with
  ``ORIN_KIT_BUILD_DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKS_DIR = PACKAGE_DIR / "checks"
SOURCE_ROOT = PACKAGE_DIR.parent
#: True when running from a source checkout (the repository's own ``pyproject.toml`` is beside the package).
IN_CHECKOUT = (SOURCE_ROOT / "pyproject.toml").is_file() and (SOURCE_ROOT / "fixtures").is_dir()
FIXTURES_DIR = SOURCE_ROOT / "fixtures" if IN_CHECKOUT else PACKAGE_DIR / "fixtures"
#: The reference images (``images/``): present in a checkout; a wheel certifies ``--images-dir`` or ``--image``.
IMAGES_DIR = SOURCE_ROOT / "images"


def work_dir() -> Path:
    """Directory for generated assets (tiny models, wheelhouse, builds); created on first use by callers."""
    override = os.environ.get("ORIN_KIT_BUILD_DIR")
    if override:
        return Path(override).resolve()
    return SOURCE_ROOT / "build" if IN_CHECKOUT else Path.cwd().resolve() / ".orin-kit"
