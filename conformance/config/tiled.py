"""Data of the tiled-detection checks: reference geometry, seam, tracking, parity and performance criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance import FIXTURES_DIR
from conformance.config import load_mapping

TILED_FIXTURES = FIXTURES_DIR / "tiled"
TILED_CRITERIA = TILED_FIXTURES / "criteria.yaml"


def load_tiled_criteria(path: Path = TILED_CRITERIA) -> dict[str, Any]:
    return load_mapping(path)
