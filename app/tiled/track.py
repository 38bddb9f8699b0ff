"""Tracking: ByteTrack behind the app's :class:`Tracker` interface.

The tracker is :class:`app.tiled.bytetrack.ByteTrack`: supervision's ByteTrack algorithm with the tracks
as arrays (the same ids, a fraction of the host time; see that module). supervision stays the app's
annotation library; its own ByteTrack (0.30, deprecated, removed in 0.31) is the reference the tracker is
tested against.
"""

from __future__ import annotations

from typing import Protocol

from app.tiled.bytetrack import ByteTrack
from app.tiled.postprocess import Detections


class Tracker(Protocol):
    """Assigns persistent ids; returns the detections it tracks, with ``track_ids`` set."""

    def update(self, dets: Detections) -> Detections: ...


class ByteTrackTracker:
    """ByteTrack with supervision's parameters and defaults; keeps the detections that belong to a track."""

    def __init__(self, frame_rate: float = 30.0, track_activation_threshold: float = 0.25,
                 lost_track_buffer: int = 30, minimum_matching_threshold: float = 0.8) -> None:
        self._tracker = ByteTrack(track_activation_threshold=track_activation_threshold,
                                  lost_track_buffer=lost_track_buffer,
                                  minimum_matching_threshold=minimum_matching_threshold, frame_rate=frame_rate)

    def update(self, dets: Detections) -> Detections:
        index, ids = self._tracker.update(dets.boxes, dets.scores)
        return Detections(boxes=dets.boxes[index], scores=dets.scores[index], class_ids=dets.class_ids[index],
                          track_ids=ids)
