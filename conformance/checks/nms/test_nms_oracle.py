"""libnms_merger against the independent Python oracle: identical kept indices and merged boxes.

Contract: nms_cpp/include/nms_merger.h; source: issue 3. The library under test is
``--nms-lib`` (default: the release build).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the NMS checks need hypothesis: pip install -e '.[nms]'")
from hypothesis import given  # noqa: E402

from conformance.config.nms import FixedScene  # noqa: E402
from conformance.nms.examples import nms_settings  # noqa: E402
from conformance.nms import oracle  # noqa: E402
from conformance.nms.scenes import MergeCase, NmsCase, make_scene, merge_cases, nms_cases  # noqa: E402

FIX = "fix nms_cpp/src so it follows the contract at the top of nms_cpp/include/nms_merger.h (issue 3)"


def assert_same_keep(got: np.ndarray, want: np.ndarray, what: str) -> None:
    __tracebackhide__ = True
    if not np.array_equal(got, want):
        first = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
        raise AssertionError(
            f"kept indices differ from the oracle on {what}: library kept {len(got)} "
            f"{got[max(0, first - 2):first + 3].tolist()}..., oracle kept {len(want)} "
            f"{want[max(0, first - 2):first + 3].tolist()}... (first difference at output position {first}); "
            f"expected identical indices in rank order; {FIX}"
        )


@nms_settings()
@given(case=nms_cases())
def test_nms_keeps_the_same_indices_as_the_oracle(nms_lib: Any, case: NmsCase) -> None:
    s = case.scene
    got = nms_lib.nms(s.boxes, s.scores, s.class_ids, case.iou_threshold, case.score_threshold,
                      case.max_detections, case.class_agnostic)
    want = oracle.nms(s.boxes, s.scores, s.class_ids, case.iou_threshold, case.score_threshold,
                      case.max_detections, case.class_agnostic)
    assert_same_keep(got, want, f"{len(s)} boxes, iou_threshold={case.iou_threshold!r}, "
                                f"class_agnostic={case.class_agnostic}")


@nms_settings()
@given(case=merge_cases())
def test_tile_merge_gives_the_oracles_boxes(nms_lib: Any, case: MergeCase) -> None:
    t = case.tiled
    s = t.scene
    args = (s.boxes, s.scores, s.class_ids, t.tile_ids, t.tile_offsets, case.method, case.match_metric,
            case.threshold, case.class_agnostic)
    got = nms_lib.merge_tiles(*args)
    want = oracle.merge_tiles(*args)
    what = (f"a {case.method}/{case.match_metric} merge of {len(s)} boxes in {len(t.tile_offsets)} tiles, "
            f"threshold={case.threshold!r}")
    assert_same_keep(got.indices, want.indices, what)
    bad = np.flatnonzero(~(got.boxes == want.boxes).all(axis=1))
    assert bad.size == 0, (
        f"merged boxes differ from the oracle on {what}: result {int(bad[0])} is "
        f"{got.boxes[bad[0]].tolist()}, oracle {want.boxes[bad[0]].tolist()}; expected identical float32 "
        f"frame boxes (SAHI GREEDYNMM union rule); {FIX}"
    )
    assert np.array_equal(got.scores, want.scores) and np.array_equal(got.class_ids, want.class_ids), (
        f"merged scores/classes differ from the oracle on {what}: expected the keeper's score and class; {FIX}"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The fixed scenes are data (fixtures/nms/criteria.yaml), read at collection, not at import.
    if "fixed_scene" in metafunc.fixturenames:
        from conformance.config.nms import load_nms_criteria as load_criteria

        scenes = load_criteria().fixed_scenes
        metafunc.parametrize("fixed_scene", scenes, ids=[spec.id for spec in scenes])


def test_nms_matches_the_oracle_on_20000_box_scenes(nms_lib: Any, fixed_scene: FixedScene) -> None:
    spec = fixed_scene
    s = make_scene(spec.kind, spec.n, spec.seed, spec.classes, spec.scores)
    # Class-agnostic differs from class-aware only with several classes.
    for agnostic in (False, True) if spec.classes > 1 else (False,):
        got = nms_lib.nms(s.boxes, s.scores, s.class_ids, spec.iou, class_agnostic=agnostic)
        want = oracle.nms(s.boxes, s.scores, s.class_ids, spec.iou, class_agnostic=agnostic)
        assert_same_keep(got, want, f"fixed scene {spec.id} (class_agnostic={agnostic})")
