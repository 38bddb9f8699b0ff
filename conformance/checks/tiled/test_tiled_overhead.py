"""Non-model overhead per 1080p frame: the app's slice + preprocess + decode + merge against SAHI's
sliced prediction on the same frame with the same stand-in detector (issue 4 "Benchmarks").

Both sides get the ground-truth stand-in (each tile reports the objects clipped to it), so the model
costs nothing; its own time is measured and subtracted on both sides. SAHI runs with its defaults
(GREEDYNMM, IOS, 0.5) and without the extra full-frame prediction, so both do the same work: 8 tiles of
640 at 0.2 overlap, each preprocessed to an NCHW float blob. The stand-in reports each object as
``candidates`` jittered boxes, as an engine without NMS inside does (workloads in criteria.yaml).
One core: OpenCV threads set to 1. SAHI is a benchmark-only dependency.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np
import pytest

from app.tiled.pipeline import TiledDetector
from app.tiled.postprocess import MergeConfig
from conformance.builders.scenes import GroundTruthDetector, seam_scene

pytestmark = pytest.mark.benchmark


class _TimedStandIn(GroundTruthDetector):
    """The stand-in, timing its own calls (the whole engine call on the app's side) to subtract them."""

    spent = 0.0
    _inside = False

    def infer(self, batch: np.ndarray, tiles: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        self._inside = True
        try:
            return super().infer(batch, tiles)
        finally:
            self._inside = False
            self.spent += time.perf_counter() - t0

    def detect_tiles(self, tiles: np.ndarray) -> np.ndarray:
        if self._inside:
            return super().detect_tiles(tiles)
        t0 = time.perf_counter()
        out = super().detect_tiles(tiles)
        self.spent += time.perf_counter() - t0
        return out


def _sahi_model(stand_in: _TimedStandIn, names: dict[str, str]) -> Any:
    from sahi.models.base import DetectionModel
    from sahi.prediction import ObjectPrediction

    class StandInModel(DetectionModel):
        def load_model(self) -> None:
            self.set_model(stand_in)

        def set_model(self, model: Any, **kwargs: Any) -> None:
            self.model = model
            self.category_mapping = names

        def perform_inference(self, image: np.ndarray) -> None:
            # the per-slice preprocessing any SAHI model wrapper does before its network (the app's side
            # counts its own preprocessing too)
            self._blob = cv2.dnn.blobFromImage(image, 1 / 255.0, (640, 640), swapRB=True)
            self._original_predictions = image.shape

        def _create_object_prediction_list_from_original_predictions(
                self, shift_amount_list: Any = [[0, 0]], full_shape_list: Any = None) -> None:
            h, w = self._original_predictions[:2]
            per_image = []
            for shift, full in zip(shift_amount_list, full_shape_list or [None] * len(shift_amount_list)):
                x0, y0 = int(shift[0]), int(shift[1])
                rows = stand_in.detect_tiles(np.array([[x0, y0, x0 + w, y0 + h]], np.int32))[0]
                preds = [ObjectPrediction(bbox=r[:4].tolist(), category_id=int(r[5]), category_name=names[str(int(r[5]))],
                                          score=float(r[4]), shift_amount=[x0, y0], full_shape=full)
                         for r in rows if r[4] > 0]
                per_image.append(preds)
            self._object_prediction_list_per_image = per_image

    return StandInModel(confidence_threshold=0.0, load_at_init=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "workload" in metafunc.fixturenames:
        from conformance.config.tiled import load_tiled_criteria

        loads = load_tiled_criteria(metafunc.config.getoption("--tiled-criteria"))["sahi"]["workloads"]
        metafunc.parametrize("workload", loads, ids=[w["name"] for w in loads])


def test_app_overhead_per_1080p_frame_is_10x_below_sahi(benchmark: Any, tiled_merger: Any, workload: dict[str, Any],
                                                       tiled_criteria: dict[str, Any], record_property: Any) -> None:
    pytest.importorskip("sahi", reason="the SAHI comparison needs sahi (install it with --no-deps, plus shapely; "
                                       "REFERENCE.md)")
    from sahi.predict import get_sliced_prediction

    crit = tiled_criteria["sahi"]
    scene = seam_scene(1920, 1080)
    frame = scene.render(0)
    _ids, truth, classes = scene.truth(0)
    names = {str(i): n for i, n in enumerate(("box", "disc", "bar"))}
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        ours_in = _TimedStandIn(candidates=workload["candidates"])
        ours_in.set_truth(truth, classes)
        detector = TiledDetector(ours_in, conf=0.0, merge=MergeConfig(), merger=tiled_merger)
        sahi_in = _TimedStandIn(candidates=workload["candidates"])
        sahi_in.set_truth(truth, classes)
        model = _sahi_model(sahi_in, names)

        def ours() -> int:
            return len(detector.detect(frame))

        def sahi() -> int:
            result = get_sliced_prediction(frame, model, 640, 640, 0.2, 0.2, perform_standard_pred=False,
                                           postprocess_type="GREEDYNMM", postprocess_match_metric="IOS",
                                           postprocess_match_threshold=0.5, verbose=0)
            return len(result.object_prediction_list)

        def overhead_ms(fn: Any, stand_in: _TimedStandIn) -> tuple[float, int]:
            fn()  # warm-up
            samples = []
            for _ in range(crit["frames"]):
                stand_in.spent = 0.0
                t0 = time.perf_counter()
                n = fn()
                samples.append((time.perf_counter() - t0 - stand_in.spent) * 1000)
            return float(np.median(samples)), n

        (ours_ms, ours_n), (sahi_ms, sahi_n) = benchmark.pedantic(
            lambda: (overhead_ms(ours, ours_in), overhead_ms(sahi, sahi_in)), rounds=1, iterations=1)
    finally:
        cv2.setNumThreads(threads)
    ratio = sahi_ms / ours_ms
    record_property(f"app_overhead_ms_{workload['name']}", ours_ms)
    record_property(f"sahi_overhead_ms_{workload['name']}", sahi_ms)
    benchmark.extra_info.update({"app_overhead_ms": ours_ms, "sahi_overhead_ms": sahi_ms, "ratio": ratio,
                                 "workload": f"1920x1080, 8 tiles 640/0.2, {len(truth)} objects on seams"})
    found = (f"1920x1080 (8 tiles, {len(truth)} objects on seams x {workload['candidates']} raw candidates, one core): app {ours_ms:.2f} ms/frame "
             f"({ours_n} detections), SAHI {sahi_ms:.2f} ms/frame ({sahi_n} detections), ratio {ratio:.1f}x")
    assert ratio >= workload["ratio_min"], (
        f"{found}; expected the app's overhead >= {workload['ratio_min']}x lower than SAHI's; fix: profile "
        "the app's stages (preprocess, decode, merge); source: issue 4 'Benchmarks'")
