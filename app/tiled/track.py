"""Tracking through supervision's ByteTrack (needs no torch; REFERENCE.md).

supervision 0.31 removed ``sv.ByteTrack`` (roboflow/supervision#2582) for the ``trackers`` package,
which requires numpy>=2 and the GUI ``opencv-python`` (both ruled out for the Orin images), so the app
pins supervision 0.30.x, whose ByteTrack is deprecated but present and unchanged.
"""

from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np

from app.tiled.postprocess import Detections


class Tracker(Protocol):
    """Assigns persistent ids; returns the detections it tracks, with ``track_ids`` set."""

    def update(self, dets: Detections) -> Detections: ...


class ByteTrackTracker:
    """``supervision.ByteTrack`` behind the app's :class:`Tracker` interface."""

    def __init__(self, frame_rate: float = 30.0, track_activation_threshold: float = 0.25,
                 lost_track_buffer: int = 30, minimum_matching_threshold: float = 0.8) -> None:
        import supervision as sv

        if not hasattr(sv, "ByteTrack"):
            raise ImportError(f"supervision {sv.__version__} has no ByteTrack (removed in 0.31); "
                              "expected supervision>=0.25,<0.31")
        self._sv = sv
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # the deprecation notice, see the module docstring
            self._tracker = sv.ByteTrack(
                track_activation_threshold=track_activation_threshold,
                lost_track_buffer=lost_track_buffer,
                minimum_matching_threshold=minimum_matching_threshold,
                frame_rate=frame_rate,
            )

    def update(self, dets: Detections) -> Detections:
        sv_dets = self._sv.Detections(
            xyxy=dets.boxes.astype(np.float32).reshape(-1, 4),
            confidence=dets.scores.astype(np.float32),
            class_id=dets.class_ids.astype(int),
        )
        tracked = self._tracker.update_with_detections(sv_dets)
        ids = tracked.tracker_id if tracked.tracker_id is not None else np.full(len(tracked), -1)
        return Detections(
            boxes=np.asarray(tracked.xyxy, dtype=np.float32).reshape(-1, 4),
            scores=np.asarray(tracked.confidence if tracked.confidence is not None else np.ones(len(tracked)),
                              dtype=np.float32),
            class_ids=np.asarray(tracked.class_id if tracked.class_id is not None else np.zeros(len(tracked)),
                                 dtype=np.int32),
            track_ids=np.asarray(ids, dtype=np.int64),
        )
