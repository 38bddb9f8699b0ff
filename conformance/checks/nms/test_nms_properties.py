"""Properties of libnms_merger's NMS that hold whatever the oracle says, plus the contract's edge cases.

Contract: nms_cpp/include/nms_merger.h; source: issue 3. Library under test: ``--nms-lib``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the NMS checks need hypothesis: pip install -e '.[nms]'")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from conformance.nms.examples import nms_settings  # noqa: E402
from conformance.nms import oracle  # noqa: E402
from conformance.nms.scenes import NmsCase, Scene, nms_cases, scenes, thresholds  # noqa: E402

FIX = "fix nms_cpp/src to follow the contract in nms_cpp/include/nms_merger.h (issue 3)"


def _run(lib: Any, s: Scene, case: NmsCase, **override: Any) -> np.ndarray:
    kw: dict[str, Any] = dict(
        iou_threshold=case.iou_threshold, score_threshold=case.score_threshold,
        max_detections=case.max_detections, class_agnostic=case.class_agnostic,
    )
    kw.update(override)
    keep: np.ndarray = lib.nms(s.boxes, s.scores, s.class_ids, **kw)
    return keep


def _subset(s: Scene, idx: np.ndarray) -> Scene:
    return Scene(s.boxes[idx], s.scores[idx], s.class_ids[idx])


@nms_settings()
@given(case=nms_cases())
def test_nms_is_idempotent(nms_lib: Any, case: NmsCase) -> None:
    keep = _run(nms_lib, case.scene, case)
    again = _run(nms_lib, _subset(case.scene, keep), case)
    assert np.array_equal(again, np.arange(len(keep))), (
        f"NMS of its own output dropped or reordered boxes: kept {len(keep)}, then {len(again)} "
        f"({again[:5].tolist()}...); expected every kept box kept again in the same order; {FIX}"
    )


@nms_settings()
@given(scene=scenes, thr=thresholds, agnostic=st.booleans(), data=st.data())
def test_nms_is_invariant_to_input_order_when_scores_are_distinct(
    nms_lib: Any, scene: Scene, thr: float, agnostic: bool, data: st.DataObject
) -> None:
    n = len(scene)
    # Distinct scores: the tie rule (lower index wins) is then never used, so the order must not matter.
    distinct = Scene(scene.boxes, (np.arange(n, 0, -1, dtype=np.float32) / max(n, 1)), scene.class_ids)
    perm = np.asarray(data.draw(st.permutations(range(n))), dtype=np.int64)
    keep = nms_lib.nms(distinct.boxes, distinct.scores, distinct.class_ids, thr, class_agnostic=agnostic)
    keep_p = nms_lib.nms(distinct.boxes[perm], distinct.scores[perm], distinct.class_ids[perm], thr,
                         class_agnostic=agnostic)
    assert np.array_equal(perm[keep_p], keep), (
        f"NMS depends on input order: permuted input kept {perm[keep_p][:5].tolist()}..., original kept "
        f"{keep[:5].tolist()}...; expected the same boxes in the same order with distinct scores; {FIX}"
    )


@nms_settings()
@given(case=nms_cases())
def test_nms_output_is_a_greedy_certificate(nms_lib: Any, case: NmsCase) -> None:
    """Kept boxes never match an earlier kept box of their class; every dropped candidate is matched."""
    s = case.scene
    keep = _run(nms_lib, s, case, max_detections=None)
    b64 = s.boxes.astype(np.float64)
    kept_set = set(keep.tolist())
    cands = oracle.rank_order(s.scores, [i for i in range(len(s)) if float(s.scores[i]) > case.score_threshold])
    assert keep.tolist() == [i for i in cands if i in kept_set], (
        f"kept boxes are not in rank order or include non-candidates: {keep[:6].tolist()}...; expected "
        f"score-descending order, ties by lower index, only scores > {case.score_threshold}; {FIX}"
    )
    earlier: list[int] = []
    for i in cands:
        same = [k for k in earlier if case.class_agnostic or s.class_ids[k] == s.class_ids[i]]
        hit = bool(same) and bool(oracle.matches_any(b64[same], b64[i], "iou", case.iou_threshold).any())
        if i in kept_set:
            assert not hit, (
                f"kept box {i} has IoU > {case.iou_threshold} with an earlier kept box of its class; "
                f"expected it suppressed; {FIX}"
            )
            earlier.append(i)
        else:
            assert hit, (
                f"box {i} was dropped but no earlier kept box of its class has IoU > {case.iou_threshold}; "
                f"expected it kept; {FIX}"
            )


@nms_settings()
@given(case=nms_cases(), raise_by=st.floats(0.0, 1.0))
def test_raising_the_score_threshold_keeps_a_filtered_prefix(nms_lib: Any, case: NmsCase, raise_by: float) -> None:
    s = case.scene
    low = case.score_threshold
    high = low + (1.0 - low) * raise_by
    keep_low = _run(nms_lib, s, case, max_detections=None, score_threshold=low)
    keep_high = _run(nms_lib, s, case, max_detections=None, score_threshold=high)
    expected = [i for i in keep_low.tolist() if float(s.scores[i]) > high]
    assert keep_high.tolist() == expected, (
        f"raising score_threshold {low} -> {high} changed which boxes survive: got {keep_high[:6].tolist()}..., "
        f"expected the lower run's kept boxes with score > {high}: {expected[:6]}...; "
        f"(low-score boxes come last in rank order, so they cannot affect earlier decisions); {FIX}"
    )


@nms_settings()
@given(case=nms_cases(), k=st.integers(0, 60))
def test_max_detections_truncates_the_unlimited_result(nms_lib: Any, case: NmsCase, k: int) -> None:
    full = _run(nms_lib, case.scene, case, max_detections=None)
    top = _run(nms_lib, case.scene, case, max_detections=k)
    assert np.array_equal(top, full[:k]), (
        f"max_detections={k} gave {top[:6].tolist()}..., expected the first {k} of the unlimited result "
        f"{full[:6].tolist()}...; {FIX}"
    )


@nms_settings()
@given(scene=scenes, agnostic=st.booleans())
def test_threshold_one_suppresses_nothing(nms_lib: Any, scene: Scene, agnostic: bool) -> None:
    keep = nms_lib.nms(scene.boxes, scene.scores, scene.class_ids, 1.0, class_agnostic=agnostic)
    cands = oracle.rank_order(scene.scores, [i for i in range(len(scene)) if float(scene.scores[i]) > 0.0])
    assert keep.tolist() == cands, (
        f"iou_threshold=1 suppressed {len(cands) - len(keep)} of {len(cands)} candidates; expected none "
        f"(IoU <= 1 and the rule is strict IoU > threshold); {FIX}"
    )


# ---- fixed edge cases of the written contract -------------------------------------------------------------

def test_a_box_exactly_at_the_threshold_is_kept(nms_lib: Any) -> None:
    # IoU([0,0,3,1], [1,0,4,1]) = 2 / 4 = 0.5 exactly; 0.5 > 0.5 is false: both stay (torchvision, OpenCV).
    boxes = np.array([[0, 0, 3, 1], [1, 0, 4, 1]], dtype=np.float32)
    keep = nms_lib.nms(boxes, np.array([0.9, 0.8], np.float32), None, 0.5)
    assert keep.tolist() == [0, 1], (
        f"IoU exactly 0.5 at iou_threshold 0.5 kept {keep.tolist()}, expected [0, 1] (suppress only when "
        f"IoU > threshold, strictly); {FIX}"
    )


def test_equal_scores_keep_the_lower_index(nms_lib: Any) -> None:
    n = 200
    boxes = np.tile(np.array([[10, 10, 50, 50]], np.float32), (n, 1))
    keep = nms_lib.nms(boxes, np.full(n, 0.5, np.float32), None, 0.5)
    assert keep.tolist() == [0], (
        f"{n} identical boxes with equal scores kept {keep[:5].tolist()}, expected [0] (ties go to the lower "
        f"input index: a stable sort); {FIX}"
    )


def test_negative_and_positive_zero_scores_tie(nms_lib: Any) -> None:
    # -0.0 == +0.0 as floats, so the tie rule (lower index first) decides, in merges (no score threshold).
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    merged = nms_lib.merge_tiles(boxes, np.array([-0.0, 0.0], np.float32), None, np.zeros(2, np.int32),
                                 np.zeros((1, 2), np.float32), "nms", "iou", 0.5)
    assert merged.indices.tolist() == [0], (
        f"two identical boxes scored -0.0 and +0.0 kept {merged.indices.tolist()}, expected [0] (equal scores: "
        f"the lower index wins); {FIX}"
    )


def test_zero_area_boxes_are_always_kept(nms_lib: Any) -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 5, 5, 5], [5, 0, 5, 10], [5, 5, 5, 5]], dtype=np.float32)
    keep = nms_lib.nms(boxes, np.array([0.9, 0.8, 0.7, 0.6], np.float32), None, 0.0)
    assert keep.tolist() == [0, 1, 2, 3], (
        f"zero-area boxes at iou_threshold 0 kept {keep.tolist()}, expected all four (a zero-area box has "
        f"intersection 0, so it never matches); {FIX}"
    )


def test_nms_is_not_monotone_in_the_iou_threshold(nms_lib: Any) -> None:
    """Documents why no 'higher threshold, more boxes' property is checked: greedy NMS is not monotone.

    A overlaps B (IoU 1/3), B overlaps C1 and C2 (IoU 1/2 each), A overlaps each C with IoU 1/5, C1 and C2
    only touch. At 0.25 A suppresses B, so C1 and C2 survive (3 kept); at 0.45 B survives and suppresses
    both Cs (2 kept).
    """
    boxes = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [0, 0, 10, 5], [0, 5, 10, 10]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    low = nms_lib.nms(boxes, scores, None, 0.25)
    high = nms_lib.nms(boxes, scores, None, 0.45)
    assert low.tolist() == [0, 2, 3] and high.tolist() == [0, 1], (
        f"expected [0, 2, 3] at iou_threshold 0.25 and [0, 1] at 0.45 (greedy NMS keeps fewer boxes at the "
        f"higher threshold here), got {low.tolist()} and {high.tolist()}; {FIX}"
    )
