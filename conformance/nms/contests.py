"""One benchmark contest per workload of fixtures/nms/criteria.yaml: the merger and its fair peers as
no-argument calls on prepared inputs, and how to tell that two of them gave the same answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from conformance.config.nms import SeamWorkload, Workload, YoloWorkload
from conformance.nms import oracle
from conformance.nms.peers import NMS_PEERS, Prepared, SeamPrepared, seam_merge_with, seam_merge_with_merger
from conformance.nms.scenes import Scene
from conformance.nms.workloads import seam_merge_input, yolo_candidates

MERGER = "merger"
#: Contenders in report order: the merger, then the peers (the same names for every workload).
CONTENDERS = (MERGER, *NMS_PEERS)


@dataclass(frozen=True)
class Contest:
    """A workload's contenders (MERGER first), the oracle's answer (conformance/nms/oracle.py: slow, plainly
    the contract) and its sizes; ``nms_input`` is the plain NMS input (boxes, scores, keys and IoU) where the
    workload is one, for the floor probe."""

    name: str
    spec: Workload
    candidates: int
    kept: int
    calls: dict[str, Callable[[], Any]]
    oracle: Callable[[], Any]
    nms_input: Optional[tuple[Scene, float]]

    @property
    def what(self) -> str:
        return self.spec.what


def same(a: Any, b: Any) -> bool:
    """Identical answers: the same kept indices in the same order (and, for a merge, the same boxes)."""
    if isinstance(a, tuple):
        return all(np.array_equal(x, y) for x, y in zip(a, b))
    return bool(np.array_equal(a, b))


def describe(result: Any) -> str:
    indices = result[1] if isinstance(result, tuple) else result
    return f"{len(indices)} kept, first {np.asarray(indices)[:5].tolist()}"


def build_contest(name: str, spec: Workload, lib: Any) -> Contest:
    if isinstance(spec, YoloWorkload):
        s = yolo_candidates(spec).scene
        p = Prepared.of(s.boxes, s.scores, s.class_ids)
        iou = spec.iou
        calls: dict[str, Callable[[], Any]] = {MERGER: lambda: lib.nms(s.boxes, s.scores, s.class_ids, iou)}
        for peer, run in NMS_PEERS.items():
            calls[peer] = (lambda run: lambda: run(p, iou))(run)
        kept = len(calls[MERGER]())
        return Contest(name, spec, len(s), kept, calls, lambda: oracle.nms(s.boxes, s.scores, s.class_ids, iou),
                       (s, iou))
    if not isinstance(spec, SeamWorkload):
        raise TypeError(f"workload {name}: unknown kind {type(spec).__name__}")
    inp = seam_merge_input(spec)
    sp = SeamPrepared.of(inp.boxes, inp.scores, inp.class_ids, inp.tile_ids, inp.tiles[:, :2].astype(np.float32))
    t = spec
    calls = {MERGER: lambda: seam_merge_with_merger(lib, sp, t.tile_iou, t.method, t.match_metric, t.threshold)}
    for peer, run in NMS_PEERS.items():
        calls[peer] = (lambda run: lambda: seam_merge_with(run, sp, t.tile_iou, t.method, t.match_metric,
                                                                    t.threshold))(run)
    kept = len(calls[MERGER]()[1])
    return Contest(name, spec, len(inp), kept, calls, lambda: seam_merge_by_oracle(sp, t), None)


def seam_merge_by_oracle(sp: SeamPrepared, t: SeamWorkload) -> tuple[np.ndarray, np.ndarray]:
    """The app's two stages by the oracle: NMS per (tile, class), then the tile merge on the kept boxes."""
    keep = oracle.nms(sp.boxes, sp.scores, sp.keys, t.tile_iou)
    merged = oracle.merge_tiles(sp.boxes[keep], sp.scores[keep], sp.class_ids[keep], sp.tile_ids[keep], sp.offsets,
                                t.method, t.match_metric, t.threshold)
    return merged.boxes, keep[merged.indices]
