"""Seam merge: an object cut by tile seams is reported once, whole (issue 4 "Conformance checks").

A ground-truth stand-in detector replaces the model: each tile reports every object clipped to the
tile, as a real detector sees it. The tiles go through the app's pipeline (batches of 8, padding,
letterbox) and the merge under test (``--tiled-merger``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

# The tiled area needs the tiled extra; without it the area skips, saying so, instead of failing collection.
pytest.importorskip("cv2", reason="the tiled checks need OpenCV: pip install 'orin-conformance-kit[tiled]'")
pytest.importorskip("scipy", reason="the tiled checks need scipy: pip install 'orin-conformance-kit[tiled]'")

from app.tiled.pipeline import TiledDetector
from app.tiled.postprocess import MergeConfig
from conformance.builders.scenes import CLASS_NAMES, GroundTruthDetector, seam_scene
from conformance.config.tiled import TiledCriteria, load_tiled_criteria
from conformance.tiled.matching import match

FIX = ("fix: merge across tiles (nms_cpp.merge_tiles, greedy_nmm with IOS, SAHI's defaults) after the per-tile NMS; "
       "source: issue 4, SAHI's GREEDYNMM/IOS defaults (sahi/predict.py)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "seam_frame" in metafunc.fixturenames:
        sizes = load_tiled_criteria(metafunc.config.getoption("--tiled-criteria")).seam.frames
        metafunc.parametrize("seam_frame", sizes, ids=[f"{w}x{h}" for w, h in sizes])


def test_every_object_across_a_seam_is_one_whole_detection(tiled_merger: Any, tiled_criteria: TiledCriteria,
                                                           seam_frame: tuple[int, int]) -> None:
    crit = tiled_criteria.seam
    w, h = seam_frame
    scene = seam_scene(w, h, crit.tile, crit.overlap)
    _ids, truth, classes = scene.truth(0)
    stand_in = GroundTruthDetector()
    stand_in.set_truth(truth, classes)
    detector = TiledDetector(stand_in, tile=crit.tile, overlap=crit.overlap, conf=0.0,
                             merge=MergeConfig(), merger=tiled_merger)
    found = detector.detect(np.zeros((h, w, 3), np.uint8))
    m = match(truth, found.boxes, crit.iou_min)
    problems = []
    for g in np.nonzero(m.hits_per_truth != 1)[0]:
        best = float(m.iou[g].max()) if m.iou.shape[1] else 0.0
        problems.append(f"object {g} ({CLASS_NAMES[classes[g]]} {truth[g].astype(int).tolist()}): "
                        f"{int(m.hits_per_truth[g])} detections with IoU >= {crit.iou_min} (best IoU {best:.2f})")
    for d in np.nonzero(m.hits_per_detection == 0)[0]:
        best = float(m.iou[:, d].max()) if m.iou.shape[0] else 0.0
        problems.append(f"extra detection {found.boxes[d].round(1).tolist()} (best IoU {best:.2f}, a seam fragment)")
    assert not problems, (
        f"{w}x{h}, {len(truth)} objects on seams, {len(found)} detections: expected exactly one detection with "
        f"IoU >= {crit.iou_min} per object and none else; found: " + "; ".join(problems[:6])
        + (f"; ... {len(problems) - 6} more" if len(problems) > 6 else "") + f"; {FIX}")
