"""Data of the NMS checks (`fixtures/nms/criteria.yaml`): fixed oracle scenes, the benchmark workloads with
their speed targets, and the scaling check. One typed model; a bad value is a one-line ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from conformance import FIXTURES_DIR
from conformance.config import Model, load

NMS_CRITERIA = FIXTURES_DIR / "nms" / "criteria.yaml"

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Field(ge=0)]


class FixedScene(Model):
    """A large generated scene compared with the oracle (conformance.nms.scenes.make_scene)."""

    id: str
    kind: Literal["random", "clustered", "identical", "grid", "zero_area", "sparse", "dense"]
    n: Count
    classes: Annotated[int, Field(ge=1)]
    seed: Count
    iou: Fraction
    scores: Literal["continuous", "few_levels", "all_equal"]


class Range(Model):
    """Closed range [low, high] a workload's size must fall in (the generator still makes what it says)."""

    low: Count
    high: Count

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.low > self.high:
            raise ValueError(f"expected low <= high, found low {self.low} > high {self.high}")
        return self


class Targets(Model):
    """Speed targets of one workload, asserted by the benchmark checks only (never by `make test`)."""

    #: merger time x this <= the fastest fair peer's time (same run, same input, identical output)
    speedup_min: Positive
    #: merger's C-level time <= this x the floor (sort of the candidates + one pass of IoU tests)
    floor_ratio_max: Positive | None = None


class WorkloadBase(Model):
    what: str
    seed: Count
    targets: Targets
    candidates_expected: Range
    kept_expected: Range


class YoloWorkload(WorkloadBase):
    """Synthetic YOLOv8-style head output thresholded at `confidence` (conformance.nms.workloads)."""

    kind: Literal["yolo"]
    tiles: Annotated[int, Field(ge=1, le=64)]
    classes: Annotated[int, Field(ge=1, le=1000)]
    confidence: Fraction
    iou: Fraction
    objects_per_tile: Positive
    min_size: Positive
    max_size: Positive
    class_skew: Annotated[float, Field(ge=0.0)]
    background_logit: float
    peak_min: Fraction
    peak_max: Fraction
    falloff: Positive
    jitter: Annotated[float, Field(ge=0.0)]

    @model_validator(mode="after")
    def _ordered(self) -> "YoloWorkload":
        if self.min_size > self.max_size or self.peak_min > self.peak_max:
            raise ValueError("expected min_size <= max_size and peak_min <= peak_max")
        return self


class SeamWorkload(WorkloadBase):
    """The tiled app's merge on its seam scene: per-(tile, class) NMS, then a cross-tile merge."""

    kind: Literal["seam"]
    size: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]]
    candidates: Annotated[int, Field(ge=1)]
    confidence: Fraction
    tile_iou: Fraction
    method: Literal["nms", "greedy_nmm"]
    match_metric: Literal["iou", "ios"]
    threshold: Fraction


Workload = Annotated[Union[YoloWorkload, SeamWorkload], Field(discriminator="kind")]


class Scaling(Model):
    """Constant-density sparse scenes of growing size: time(2n) / time(n) per doubling."""

    kind: Literal["sparse"]
    sizes: tuple[Annotated[int, Field(ge=1)], ...] = Field(min_length=2)
    area_per_box_px2: Positive
    iou: Fraction
    seed: Count
    doubling_ratio_max: Positive
    opencv_sizes: tuple[Annotated[int, Field(ge=1)], ...] = ()
    #: measurement budget per size (best of up to `rounds`, stopping after `budget_s`)
    rounds: Annotated[int, Field(ge=1)] = 40
    budget_s: Positive = 5.0


class NmsCriteria(Model):
    source: str
    fixed_scenes: tuple[FixedScene, ...]
    workloads: dict[str, Workload]
    scaling: Scaling


def load_nms_criteria(path: Path = NMS_CRITERIA) -> NmsCriteria:
    return load(path, NmsCriteria)
