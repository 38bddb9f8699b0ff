"""Data of the tiled-detection checks (`fixtures/tiled/criteria.yaml`): reference geometry, seam, tracking,
parity, performance and host-overhead criteria, each section a typed model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from conformance import FIXTURES_DIR
from conformance.config import Model, load

TILED_FIXTURES = FIXTURES_DIR / "tiled"
TILED_CRITERIA = TILED_FIXTURES / "criteria.yaml"

Size = tuple[Annotated[int, Field(gt=0)], Annotated[int, Field(gt=0)]]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(gt=0)]
Overlap = Annotated[float, Field(ge=0.0, lt=1.0)]


class SliceReference(Model):
    """SAHI's tile origins for one frame size (columns ``xs`` walked inside rows ``ys``)."""

    size: Size
    tile: Count
    overlap: Overlap
    xs: tuple[int, ...]
    ys: tuple[int, ...]

    @property
    def name(self) -> str:
        return f"{self.size[0]}x{self.size[1]}@{self.tile}/{self.overlap}"


class Geometry(Model):
    reference: tuple[SliceReference, ...]
    frames: tuple[Size, ...]
    tile: Count = 640
    overlap: Overlap = 0.2


class Seam(Model):
    iou_min: Fraction
    tile: Count
    overlap: Overlap
    frames: tuple[Size, ...]


class Tracking(Model):
    mota_min: float
    id_switches_max: Annotated[int, Field(ge=0)]
    match_iou_min: Fraction
    size: Size
    frames: Count


class Parity(Model):
    box_atol_px: Annotated[float, Field(ge=0.0)]
    score_atol: Annotated[float, Field(ge=0.0)]
    class_agreement_min: Fraction
    #: the prepared model (uint8 in) against the float export it was made from, fed the host conversion
    float_model_max_abs_diff: Annotated[float, Field(ge=0.0)]
    #: the frame-input model (the graph crops the tiles) against the tile-input model fed the host's slicing
    frame_model_size: Size
    frame_model_max_abs_diff: Annotated[float, Field(ge=0.0)]


class Performance(Model):
    fps_frames: Count
    fps_warmup_frames: Annotated[int, Field(ge=0)]
    rss_frames: Count
    rss_warmup_frames: Annotated[int, Field(ge=0)]
    rss_size: Size
    #: the host side of a frame, after the first, may not hold this much more memory at once
    allocation_max_bytes: Count


class Workload(Model):
    name: str
    candidates: Count
    ratio_min: Annotated[float, Field(gt=0.0)]


class Overhead(Model):
    size: Size
    rounds: Count
    frames_per_round: Count
    confidence: Fraction
    anchors: Count
    workloads: tuple[Workload, ...]

    @model_validator(mode="after")
    def _unique_names(self) -> Overhead:
        names = [w.name for w in self.workloads]
        if len(set(names)) != len(names):
            raise ValueError(f"workload names must be unique, found {names}")
        return self


class TiledCriteria(Model):
    geometry: Geometry
    seam: Seam
    tracking: Tracking
    parity: Parity
    performance: Performance
    overhead: Overhead


def load_tiled_criteria(path: Path = TILED_CRITERIA) -> TiledCriteria:
    return load(path, TiledCriteria)
