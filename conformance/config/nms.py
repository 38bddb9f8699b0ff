"""Data of the NMS checks: workloads, fixed scenes and speed targets (`fixtures/nms/criteria.yaml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance import FIXTURES_DIR
from conformance.config import load_mapping

NMS_CRITERIA = FIXTURES_DIR / "nms" / "criteria.yaml"


def load_nms_criteria(path: Path = NMS_CRITERIA) -> dict[str, Any]:
    return load_mapping(path)
