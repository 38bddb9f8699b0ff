"""ByteTrack with the tracks kept as arrays: supervision's algorithm, ids and quirks, at a fraction of its cost.

supervision's ``ByteTrack`` (0.30; deprecated, removed in 0.31) keeps one Python object per track and runs
one Kalman update per object: about 3 ms per frame for 25 objects on one x86 core, more than the whole host
budget of a tiled 1080p frame (issue 15). Here the Kalman predict and update run for all tracks in a few
numpy calls (:mod:`app.tiled.kalman`), and the association follows supervision's ``update_with_tensors`` step by step, quirks
included (a track removed for being lost too long leaves the lost list one frame later), so it assigns the
same ids to the same detections; ``tests/test_tiled_track.py`` compares the two frame by frame.

Steps (Zhang et al., ByteTrack, ECCV 2022): predict every confirmed or lost track; match high-score
detections by IoU fused with the score; match the remaining tracked tracks to low-score detections; match
unconfirmed tracks to what is left; start tracks from unmatched high-score detections; age out lost tracks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from app.tiled import kalman
from app.tiled.association import assign, iou

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

NEW, TRACKED, LOST, REMOVED = 0, 1, 2, 3


class ByteTrack:
    """Multi-object tracker; :meth:`update` takes one frame's boxes and scores and says which track each is.

    Parameters and defaults are supervision's ``ByteTrack``; ``frame_rate`` scales ``lost_track_buffer``.
    """

    def __init__(self, track_activation_threshold: float = 0.25, lost_track_buffer: int = 30,
                 minimum_matching_threshold: float = 0.8, frame_rate: float = 30.0,
                 minimum_consecutive_frames: int = 1, capacity: int = 64) -> None:
        self.track_activation_threshold = track_activation_threshold
        self.minimum_matching_threshold = minimum_matching_threshold
        self.det_thresh = track_activation_threshold + 0.1 if track_activation_threshold + 0.1 <= 1.0 \
            else track_activation_threshold
        self.max_time_lost = int(frame_rate / 30.0 * lost_track_buffer)
        self.minimum_consecutive_frames = minimum_consecutive_frames
        self.frame_id = 0
        # One slot per live track; a slot is reused once its track has left both lists. kf: the Kalman
        # states (app.tiled.kalman), per slot.
        self.kf = np.zeros((capacity, 5, 4))
        self.state = np.zeros(capacity, np.int8)
        self.activated = np.zeros(capacity, bool)
        self.last_frame = np.zeros(capacity, np.int64)
        self.start_frame = np.zeros(capacity, np.int64)
        self.tracklet_len = np.zeros(capacity, np.int64)
        self.internal_id = np.full(capacity, -1, np.int64)
        self.external_id = np.full(capacity, -1, np.int64)
        self._free = list(range(capacity - 1, -1, -1))
        self._next_internal = 0
        self._next_external = 1
        self.tracked: list[int] = []
        self.lost: list[int] = []
        self._removed_ids: set[int] = set()
        self._in_use: set[int] = set()

    # --- bookkeeping ----------------------------------------------------------------------------------------

    _ARRAYS = ("kf", "state", "activated", "last_frame", "start_frame", "tracklet_len", "internal_id",
               "external_id")

    def _slot(self) -> int:
        if not self._free:
            n = len(self.state)
            for name in self._ARRAYS:
                array = getattr(self, name)
                more = np.full_like(array, -1) if name.endswith("_id") else np.zeros_like(array)
                setattr(self, name, np.concatenate((array, more)))
            self._free = list(range(2 * n - 1, n - 1, -1))
        slot = self._free.pop()
        self._in_use.add(slot)
        return slot

    def tlbr(self, slots: list[int]) -> F64:
        """Boxes (x1, y1, x2, y2) of the tracks' Kalman states."""
        return kalman.tlbr(self.kf[slots])

    def _cost(self, slots: list[int], boxes: F32) -> F32:
        """1 - IoU between tracks (as float32 boxes, like supervision's ``iou_distance``) and detections."""
        if not slots or len(boxes) == 0:
            return np.empty((len(slots), len(boxes)), np.float32)
        return 1 - iou(self.tlbr(slots).astype(np.float32), boxes)

    def _update(self, slots: list[int], xyah: F64, frame: int) -> None:
        """A matched tracked or unconfirmed track (supervision's ``STrack.update``)."""
        if not slots:
            return
        self.kf[slots] = kalman.correct(self.kf[slots], xyah)
        self.last_frame[slots] = frame
        self.tracklet_len[slots] += 1
        self.state[slots] = TRACKED
        self.activated[slots] |= self.tracklet_len[slots] >= self.minimum_consecutive_frames
        fresh = [s for s in slots if self.activated.item(s) and self.external_id.item(s) < 0]
        if fresh:  # ids in match order, as supervision hands them out
            self.external_id[fresh] = np.arange(self._next_external, self._next_external + len(fresh))
            self._next_external += len(fresh)

    def _reactivate(self, slots: list[int], xyah: F64, frame: int) -> None:
        """A matched lost track (supervision's ``STrack.re_activate``)."""
        if not slots:
            return
        self.kf[slots] = kalman.correct(self.kf[slots], xyah)
        self.tracklet_len[slots] = 0
        self.state[slots] = TRACKED
        self.last_frame[slots] = frame

    def _apply(self, pairs: list[tuple[int, int]], xyah: F64, frame: int) -> tuple[list[int], list[int]]:
        """Update tracked and re-activate lost tracks of ``(slot, detection)`` pairs; returns both slot lists."""
        tracked = [(s, d) for s, d in pairs if self.state.item(s) == TRACKED]
        other = [(s, d) for s, d in pairs if self.state.item(s) != TRACKED]
        self._update([s for s, _ in tracked], xyah[[d for _, d in tracked]], frame)
        self._reactivate([s for s, _ in other], xyah[[d for _, d in other]], frame)
        return [s for s, _ in tracked], [s for s, _ in other]

    def _without(self, slots: list[int], ids: set[int]) -> list[int]:
        return [s for s in slots if self.internal_id.item(s) not in ids]

    # --- one frame ------------------------------------------------------------------------------------------

    def update(self, boxes: npt.NDArray[np.floating], scores: npt.NDArray[np.floating]) -> tuple[I64, I64]:
        """Track one frame of detections (``boxes [M, 4]`` x1, y1, x2, y2; ``scores [M]``).

        Returns ``(index, track_id)``: the detections that belong to a confirmed track, by their index in
        the input, and that track's id (supervision's ``update_with_detections``).
        """
        self.frame_id += 1
        frame = self.frame_id
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        valid = (np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
                 & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))
        vboxes, vscores = boxes[valid], scores[valid]
        high = vscores >= self.track_activation_threshold
        low = (vscores > 0.1) & (vscores < self.track_activation_threshold)
        # Detections as supervision's STrack holds them: float32 tlwh, back to tlbr when compared.
        tlwh = vboxes.copy()
        tlwh[:, 2:] -= tlwh[:, :2]
        tlbr = tlwh.copy()
        tlbr[:, 2:] += tlbr[:, :2]
        xyah = tlwh.copy()
        xyah[:, :2] += xyah[:, 2:] / 2
        xyah[:, 2] /= xyah[:, 3]
        hi_tlbr, hi_xyah, hi_score = tlbr[high], xyah[high].astype(np.float64), vscores[high]
        lo_tlbr, lo_xyah = tlbr[low], xyah[low].astype(np.float64)

        unconfirmed = [s for s in self.tracked if not self.activated.item(s)]
        pool = [s for s in self.tracked if self.activated.item(s)]
        confirmed = set(pool)
        pool += [s for s in self.lost if s not in confirmed]
        activated: list[int] = []
        refound: list[int] = []
        now_lost: list[int] = []
        removed: list[int] = []

        # First association: confirmed and lost tracks with high-score detections, IoU fused with the score.
        if pool:
            kf = self.kf[pool]
            kf[self.state[pool] != TRACKED, 1, 3] = 0.0  # a lost track's height stops changing
            self.kf[pool] = kalman.predict(kf)
        cost = self._cost(pool, hi_tlbr)
        if cost.size:
            cost = 1 - (1 - cost) * hi_score[None, :]
        matches, u_track, u_det = assign(cost, self.minimum_matching_threshold)
        done, back = self._apply([(pool[t], d) for t, d in matches], hi_xyah, frame)
        activated += done
        refound += back

        # Second association: still-unmatched tracked tracks with low-score detections, plain IoU.
        remaining = [pool[t] for t in u_track if self.state.item(pool[t]) == TRACKED]
        matches, u_remaining, _ = assign(self._cost(remaining, lo_tlbr), 0.5)
        done, back = self._apply([(remaining[t], d) for t, d in matches], lo_xyah, frame)
        activated += done
        refound += back
        for t in u_remaining:
            if self.state[remaining[t]] != LOST:
                self.state[remaining[t]] = LOST
                now_lost.append(remaining[t])

        # Unconfirmed tracks (seen once) with the high-score detections left; unmatched ones are dropped.
        left = list(u_det)
        cost = self._cost(unconfirmed, hi_tlbr[left])
        if cost.size:
            cost = 1 - (1 - cost) * hi_score[left][None, :]
        matches, u_unconfirmed, u_new = assign(cost, 0.7)
        pairs = [(unconfirmed[t], left[d]) for t, d in matches]
        self._update([s for s, _ in pairs], hi_xyah[[d for _, d in pairs]], frame)
        activated += [s for s, _ in pairs]
        for t in u_unconfirmed:
            self.state[unconfirmed[t]] = REMOVED
            removed.append(unconfirmed[t])

        # New tracks from confident detections nobody claimed.
        for d in (left[i] for i in u_new):
            if hi_score[d] < self.det_thresh:
                continue
            slot = self._slot()
            self.kf[slot] = kalman.initiate(hi_xyah[d])
            self.internal_id[slot] = self._next_internal
            self._next_internal += 1
            self.tracklet_len[slot] = 1
            self.state[slot] = TRACKED
            self.activated[slot] = False
            self.external_id[slot] = -1
            if frame == 1 and self.minimum_consecutive_frames <= 1:
                self.activated[slot] = True
                self.external_id[slot] = self._next_external
                self._next_external += 1
            self.last_frame[slot] = self.start_frame[slot] = frame
            activated.append(slot)

        for slot in self.lost:
            if frame - self.last_frame.item(slot) > self.max_time_lost:
                self.state[slot] = REMOVED
                removed.append(slot)

        still = [s for s in self.tracked if self.state.item(s) == TRACKED]
        tracked = list(dict.fromkeys(still + activated + refound))
        tracked_ids = {self.internal_id.item(s) for s in tracked}
        lost = self._without(self.lost, tracked_ids) + now_lost
        lost = self._without(list(dict.fromkeys(lost)), self._removed_ids)  # last frame's removals (sic)
        self._removed_ids = {self.internal_id.item(s) for s in removed}
        self.tracked, self.lost = self._drop_duplicates(tracked, lost)
        self._release(set(self.tracked) | set(self.lost))
        return self._claim(boxes, [s for s in self.tracked if self.activated.item(s)])

    def _release(self, live: set[int]) -> None:
        """Return the slots of tracks that left both lists (or never joined them) to the free list."""
        dead = self._in_use - live
        if dead:
            self._free += sorted(dead, reverse=True)
            self._in_use -= dead

    def _drop_duplicates(self, tracked: list[int], lost: list[int]) -> tuple[list[int], list[int]]:
        """A tracked and a lost track on the same object (IoU > 0.95): keep the one tracked longer."""
        if not tracked or not lost:
            return tracked, lost
        close = self._cost(tracked, self.tlbr(lost).astype(np.float32)) < 0.05
        drop_tracked: set[int] = set()
        drop_lost: set[int] = set()
        for a, b in zip(*np.nonzero(close)):
            age_a = self.last_frame[tracked[a]] - self.start_frame[tracked[a]]
            age_b = self.last_frame[lost[b]] - self.start_frame[lost[b]]
            if age_a > age_b:
                drop_lost.add(int(b))
            else:
                drop_tracked.add(int(a))
        return ([s for i, s in enumerate(tracked) if i not in drop_tracked],
                [s for i, s in enumerate(lost) if i not in drop_lost])

    def _claim(self, boxes: F32, output: list[int]) -> tuple[I64, I64]:
        """Which input detection each confirmed track is (IoU >= 0.5, Hungarian), as supervision reports it."""
        if not output or len(boxes) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        finite = np.isfinite(boxes).all(axis=1)
        if finite.all():
            overlap = iou(boxes, self.tlbr(output))
        else:  # supervision raises on non-finite boxes here; they match nothing
            overlap = iou(np.where(finite[:, None], boxes, 0.0), self.tlbr(output))
            overlap[~finite] = 0.0
        matches, _, _ = assign(1 - overlap, 0.5)
        matches.sort()
        index = np.array([d for d, _ in matches], np.int64)
        ids = self.external_id[[output[t] for _, t in matches]].astype(np.int64)
        return index, ids
