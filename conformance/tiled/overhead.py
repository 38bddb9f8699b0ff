"""Host cost per frame of the tiled app in the GPU deployment, and of SAHI doing the same work (issue 15).

With the model on a GPU, what the host pays per frame is: handing the frame to the engine, decoding the
engine's ``[B, N, 6]``, the cross-tile merge and tracking. The app's engine is a frame-input engine
(``prepare_onnx --frame``: the graph crops the tiles on the device), so handing over the frame is one copy
of it into the engine's page-locked input; the same app with a tile-input engine, which slices the tiles
into that input instead, is measured beside it for reference. Every side gets the same stand-in engine
(ground truth per tile, padded to a real engine's rows), whose own time is measured and subtracted, and the
same tracker. Time is the measuring thread's CPU time (``time.thread_time``): what the
host pays, not what a busy machine makes it wait; wall time is reported beside it. The figure of a side is
the median over all its measured frames.

SAHI runs in its best configuration for this work: ``get_sliced_prediction`` with batch 8 (one engine call
per frame, like the app) and a model wrapper that hands SAHI's uint8 slices to the engine as they are (a
GPU wrapper would copy each to the device; here nothing), its defaults GREEDYNMM / IOS / 0.5, no extra
full-frame pass, then the same tracker.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import cv2
import numpy as np
import numpy.typing as npt

from app.tiled.geometry import slice_boxes
from app.tiled.pipeline import TiledDetector
from app.tiled.postprocess import Detections, MergeConfig, Merger, merge_detections
from app.tiled.track import ByteTrackTracker
from conformance.builders.scenes import CLASS_NAMES, GroundTruthDetector, seam_scene


class TimedStandIn(GroundTruthDetector):
    """The stand-in engine, adding its own CPU time to :attr:`spent` (the model's share, subtracted)."""

    spent = 0.0

    def infer(self, batch: npt.NDArray[np.uint8], tiles: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        t0 = time.thread_time()
        try:
            return super().infer(batch, tiles)
        finally:
            self.spent += time.thread_time() - t0


@dataclass
class Side:
    """One side of the comparison: a per-frame function and its rounds (host ms per frame)."""

    name: str
    frame: Callable[[], int]
    stand_in: TimedStandIn
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    detections: int = 0

    def run_once(self) -> None:
        self.stand_in.spent = 0.0
        w0, c0 = time.perf_counter(), time.thread_time()
        self.detections = self.frame()
        c1, w1 = time.thread_time(), time.perf_counter()
        self.cpu_ms.append((c1 - c0 - self.stand_in.spent) * 1000.0)
        self.wall_ms.append((w1 - w0 - self.stand_in.spent) * 1000.0)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.cpu_ms)


def _sahi_model(stand_in: TimedStandIn, confidence: float) -> Any:
    """A SAHI DetectionModel around the stand-in: uint8 slices in one batch, one engine call per frame."""
    from sahi.models.base import DetectionModel
    from sahi.prediction import ObjectPrediction

    names = {str(i): name for i, name in enumerate(CLASS_NAMES)}
    b, (h, w) = stand_in.spec.batch_size, stand_in.spec.input_hw
    batch = np.zeros((b, h, w, 3), np.uint8)  # the stand-in ignores pixels; SAHI's slices are not copied in
    tiles = np.full((b, 4), -1, np.int32)

    class StandInModel(DetectionModel):
        def load_model(self) -> None:
            self.set_model(stand_in)

        def set_model(self, model: Any, **kwargs: Any) -> None:
            self.model = model
            self.category_mapping = names

        def perform_batch_inference(self, images: list[npt.NDArray[np.uint8]]) -> None:
            self._shapes = [img.shape for img in images]
            self._batch_len = len(images)

        def perform_inference(self, image: npt.NDArray[np.uint8]) -> None:
            self.perform_batch_inference([image])

        def _create_object_prediction_list_from_original_predictions(
                self, shift_amount_list: Any = None, full_shape_list: Any = None) -> None:
            shifts = shift_amount_list or [[0, 0]] * self._batch_len
            tiles[...] = -1
            for i, ((x0, y0), shape) in enumerate(zip(shifts, self._shapes)):
                tiles[i] = (int(x0), int(y0), int(x0) + shape[1], int(y0) + shape[0])
            raw = stand_in.infer(batch, tiles)  # the engine call (its time is subtracted)
            per_image = []
            for i, (x0, y0) in enumerate(shifts):
                rows = raw[i][raw[i, :, 4] >= self.confidence_threshold]
                full = full_shape_list[i] if full_shape_list else None
                per_image.append([ObjectPrediction(bbox=r[:4].tolist(), category_id=int(r[5]),
                                                   category_name=names[str(int(r[5]))], score=float(r[4]),
                                                   shift_amount=[int(x0), int(y0)], full_shape=full)
                                  for r in rows])
            self._object_prediction_list_per_image = per_image

    return StandInModel(confidence_threshold=confidence, load_at_init=True)


def _to_detections(predictions: list[Any]) -> Detections:
    if not predictions:
        return Detections.empty()
    boxes = np.array([p.bbox.to_xyxy() for p in predictions], np.float32)
    return Detections(boxes, np.array([p.score.value for p in predictions], np.float32),
                      np.array([p.category.id for p in predictions], np.int32))


@dataclass
class Comparison:
    """The app and SAHI on the same frame, stand-in and tracker, measured in alternating rounds."""

    app: Side
    sahi: Side
    objects: int
    workload: str
    #: the app with a tile-input engine (the host slices the tiles): reference, not compared with SAHI
    app_tile_input: Side

    @property
    def ratio(self) -> float:
        return self.sahi.median_ms / self.app.median_ms if self.app.median_ms > 0 else float("inf")


def compare(size: tuple[int, int], candidates: int, anchors: int, confidence: float, rounds: int,
            frames_per_round: int = 1, merger: Merger = merge_detections) -> Comparison:
    """Measure the sides, one core (OpenCV single-threaded), after a warm-up: ``rounds`` rounds, each
    ``frames_per_round`` frames of the app, then as many of the app with a tile input, then of SAHI, every
    frame measured. Frames follow one
    another as in a video pipeline (the caches as the side's own previous frame left them); rounds alternate,
    so that load from the rest of the machine hits every side alike."""
    from sahi.predict import get_sliced_prediction

    width, height = size
    scene = seam_scene(width, height)
    frame = scene.render(0)
    _ids, truth, classes = scene.truth(0)

    def stand_in(frame_hw: tuple[int, int] | None = None) -> TimedStandIn:
        engine = TimedStandIn(num_anchors=min(256, anchors // candidates), candidates=candidates,
                              output_anchors=anchors, frame_hw=frame_hw)
        engine.set_truth(truth, classes)
        return engine

    def app_side(name: str, engine: TimedStandIn) -> Side:
        detector = TiledDetector(engine, conf=confidence, merge=MergeConfig(), merger=merger)
        tracker = ByteTrackTracker()
        return Side(name, lambda: len(tracker.update(detector.detect(frame))), engine)

    sahi_engine = stand_in()
    sahi_tracker = ByteTrackTracker()
    model = _sahi_model(sahi_engine, confidence)

    def sahi_frame() -> int:
        result = get_sliced_prediction(frame, model, 640, 640, 0.2, 0.2, perform_standard_pred=False,
                                       postprocess_type="GREEDYNMM", postprocess_match_metric="IOS",
                                       postprocess_match_threshold=0.5, batch_size=8, verbose=0)
        return len(sahi_tracker.update(_to_detections(result.object_prediction_list)))

    app = app_side("app", stand_in(frame_hw=(height, width)))
    app_tile_input = app_side("app, tile input", stand_in())
    sahi = Side("SAHI", sahi_frame, sahi_engine)
    sides = (app, app_tile_input, sahi)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for side in sides:  # warm-up: first-call costs (imports, caches, tracks born) are not per-frame
            side.frame()
            side.frame()
        for _ in range(rounds):
            for side in sides:
                for _ in range(frames_per_round):
                    side.run_once()
    finally:
        cv2.setNumThreads(threads)
    tiles = len(slice_boxes(width, height, 640, 0.2))
    return Comparison(app, sahi, len(truth), f"{width}x{height}, {tiles} tiles 640/0.2 (frame-input engine), "
                                             f"{len(truth)} objects on seams x {candidates} candidates, "
                                             f"{anchors} anchors/tile, conf {confidence}, one core", app_tile_input)
