"""The app's ByteTrack against supervision's, frame by frame: the same detections kept, the same ids.

Sequences are the tracking check's motion scene with what makes tracking hard: box noise, missed
detections, low-score detections (ByteTrack's second association), false positives and shuffled order.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pytest

from app.tiled.bytetrack import ByteTrack
from conformance.builders.scenes import motion_scene

Frame = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]


def _sequence(seed: int, frames: int = 120) -> list[Frame]:
    rng = np.random.default_rng(seed)
    scene = motion_scene(1920, 1080, frames, seed=seed)
    out = []
    for k in range(frames):
        _ids, truth, _classes = scene.truth(k)
        boxes = truth + rng.normal(0, 1.5, truth.shape).astype(np.float32)
        scores = rng.uniform(0.05, 0.95, len(boxes)).astype(np.float32)
        seen = rng.uniform(size=len(boxes)) > 0.15
        corner = rng.uniform(0, 1800, (int(rng.integers(0, 4)), 2)).astype(np.float32)
        false = np.hstack([corner, corner + rng.uniform(20, 90, corner.shape).astype(np.float32)])
        all_boxes = np.vstack([boxes[seen], false]).astype(np.float32)
        all_scores = np.concatenate([scores[seen], rng.uniform(0.05, 0.6, len(false)).astype(np.float32)])
        order = rng.permutation(len(all_boxes))
        out.append((all_boxes[order], all_scores[order]))
    return out


def _supervision() -> object:
    sv = pytest.importorskip("supervision")
    if not hasattr(sv, "ByteTrack"):
        pytest.skip(f"supervision {sv.__version__} has no ByteTrack (removed in 0.31): nothing to compare with")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice
        return sv.ByteTrack()


@pytest.mark.parametrize("seed", range(8), ids=[f"seed-{s}" for s in range(8)])
def test_same_detections_and_ids_as_supervision_bytetrack(seed: int) -> None:
    import supervision as sv

    reference, ours = _supervision(), ByteTrack()
    for k, (boxes, scores) in enumerate(_sequence(seed)):
        expected = reference.update_with_detections(  # type: ignore[attr-defined]
            sv.Detections(xyxy=boxes, confidence=scores, class_id=np.zeros(len(boxes), int)))
        index, ids = ours.update(boxes, scores)
        assert np.array_equal(boxes[index], expected.xyxy), (
            f"seed {seed} frame {k}: kept detections {index.tolist()}, supervision kept other boxes")
        assert ids.tolist() == expected.tracker_id.tolist(), (
            f"seed {seed} frame {k}: ids {ids.tolist()}, supervision {expected.tracker_id.tolist()}")


def test_slots_are_reused_so_memory_stays_bounded() -> None:
    tracker = ByteTrack()
    rng = np.random.default_rng(0)
    for _ in range(600):  # objects that live a few frames each: hundreds of tracks born and removed
        corner = rng.uniform(0, 1800, (20, 2)).astype(np.float32)
        tracker.update(np.hstack([corner, corner + 40]), np.full(20, 0.9, np.float32))
    assert len(tracker.state) <= 256, (
        f"{len(tracker.state)} track slots after 600 frames of short-lived objects; expected slots of removed "
        "tracks reused (at most a few times the tracks alive at once)")


def test_empty_and_non_finite_frames_are_no_detections() -> None:
    tracker = ByteTrack()
    boxes = np.array([[10, 10, 50, 50], [np.nan, 0, 5, 5], [20, 20, 10, 30]], np.float32)
    index, ids = tracker.update(boxes, np.array([0.9, 0.9, 0.9], np.float32))
    assert index.tolist() == [0] and ids.tolist() == [1], f"kept {index.tolist()} ids {ids.tolist()}"
    index, ids = tracker.update(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    assert len(index) == 0 and len(ids) == 0, "an empty frame tracks nothing"
