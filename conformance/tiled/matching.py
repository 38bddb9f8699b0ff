"""Ground truth against detections: pairwise IoU and, per truth, the detections that match it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Match:
    """Ground truth vs detections: per truth, the detections with IoU >= the criterion."""

    iou: npt.NDArray[np.float64]  # [G, D]
    hits_per_truth: npt.NDArray[np.int64]  # [G]
    hits_per_detection: npt.NDArray[np.int64]  # [D]


def iou_matrix(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Pairwise IoU of xyxy boxes ``a [G,4]`` and ``b [D,4]``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)[:, None]
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)[None, :]
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match(truth: npt.NDArray[np.floating], found: npt.NDArray[np.floating], iou_min: float) -> Match:
    iou = iou_matrix(truth, found)
    hit = iou >= iou_min
    return Match(iou, hit.sum(axis=1), hit.sum(axis=0))
