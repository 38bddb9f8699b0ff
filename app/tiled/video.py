"""Video in, annotated video + JSON lines + summary out.

A reader thread decodes the next frames into a bounded queue while the main thread runs the current
frame through the engine, and a writer thread annotates and encodes the previous ones (OpenCV releases
the GIL in all three). Outputs are written to temporary files
beside their targets and renamed only when the run succeeds: a failed run leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import numpy.typing as npt

from app.tiled.errors import InputVideoError, LabelsError, OutputError, TiledError
from app.tiled.pipeline import StageTimes, TiledDetector
from app.tiled.postprocess import Detections
from app.tiled.track import Tracker

log = logging.getLogger("app.tiled")

_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


def load_labels(path: Path) -> list[str]:
    """One label per line; blank lines are ignored. Raises :class:`LabelsError` with the reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelsError(f"labels file '{path}' not found; expected a text file with one class name per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise LabelsError(f"labels file '{path}' is unreadable ({reason}); expected UTF-8 text, "
                          "one class name per line") from None
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise LabelsError(f"labels file '{path}' is empty; expected one class name per line")
    return labels


def current_rss_mb() -> float:
    """Resident set size of this process now (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class FrameReader:
    """Decodes frames on a thread into a bounded queue (decode overlaps inference)."""

    _END = object()

    def __init__(self, path: Path, max_frames: int | None = None, depth: int = 4) -> None:
        path = Path(path)
        if not path.is_file():
            raise InputVideoError(f"input video '{path}' not found; expected an existing video file")
        if not os.access(path, os.R_OK):
            raise InputVideoError(f"input video '{path}' is not readable (permission denied)")
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise InputVideoError(f"input video '{path}' cannot be opened (corrupt or unsupported); "
                                  "expected a video OpenCV can decode (mp4, avi, mov)")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise InputVideoError(f"input video '{path}' has no decodable frames; expected at least one frame")
        self.path = path
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.width, self.height = first.shape[1], first.shape[0]
        self._max = max_frames
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self.decode_ms: list[float] = []
        self._thread = threading.Thread(target=self._run, args=(first,), name="frame-reader", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, first: npt.NDArray[np.uint8]) -> None:
        try:
            frame: npt.NDArray[np.uint8] | None = first
            n = 0
            while frame is not None and (self._max is None or n < self._max):
                if not self._put(frame):
                    return
                n += 1
                t0 = time.perf_counter()
                ok, nxt = self._cap.read()
                self.decode_ms.append((time.perf_counter() - t0) * 1000.0)
                frame = np.asarray(nxt, np.uint8) if ok else None
        except Exception as exc:  # handed to the consumer, which raises it
            self._put(exc)
            return
        self._put(self._END)

    def __iter__(self) -> Iterator[npt.NDArray[np.uint8]]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, Exception):
                raise InputVideoError(f"decoding '{self.path}' failed: {item}")
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._cap.release()


class FrameWriter:
    """Annotates and encodes frames on a thread (bounded queue), so writing overlaps the next inference."""

    _END = object()

    def __init__(self, writer: cv2.VideoWriter, annotate: "Annotator", times: StageTimes, depth: int = 4) -> None:
        self._writer = writer
        self._annotate = annotate
        self._times = times
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="frame-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if self.error is not None:
                continue  # drain after a failure; the producer raises it
            frame, dets = item
            try:
                t0 = time.perf_counter()
                self._writer.write(self._annotate(frame, dets))
                self._times.add("annotate_write", time.perf_counter() - t0)
            except BaseException as exc:  # handed to the producer, which raises it
                self.error = exc

    def put(self, frame: npt.NDArray[np.uint8], dets: Detections) -> None:
        if self.error is not None:
            raise OutputError(f"writing the output video failed: {self.error}")
        self._queue.put((frame, dets))

    def close(self) -> None:
        """Flush queued frames, stop the thread and release the encoder; raise a deferred write error."""
        self._queue.put(self._END)
        self._thread.join()
        self._writer.release()
        if self.error is not None:
            raise OutputError(f"writing the output video failed: {self.error}")


@dataclass
class Outputs:
    """Final paths and their temporary twins; :meth:`commit` renames, :meth:`discard` removes."""

    video: Path | None
    jsonl: Path
    summary: Path
    _tmp: dict[Path, Path] = field(default_factory=dict)

    def tmp(self, final: Path) -> Path:
        if final not in self._tmp:
            self._tmp[final] = final.with_name(f".{final.stem}.partial-{os.getpid()}{final.suffix}")
        return self._tmp[final]

    def check_writable(self) -> None:
        for final in (self.video, self.jsonl, self.summary):
            if final is None:
                continue
            parent = final.parent if str(final.parent) else Path(".")
            if not parent.is_dir():
                raise OutputError(f"output directory '{parent}' does not exist; create it or choose another --output")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(f"output directory '{parent}' is not writable; expected a writable directory")
            if final.is_dir():
                raise OutputError(f"output '{final}' is a directory; expected a file path")
        if self.video is not None and self.video.suffix.lower() not in _FOURCC:
            raise OutputError(f"output video '{self.video}' has extension '{self.video.suffix}'; "
                              f"expected one of {sorted(_FOURCC)}")

    def commit(self) -> None:
        for final, tmp in self._tmp.items():
            os.replace(tmp, final)
        self._tmp.clear()

    def discard(self) -> None:
        for tmp in self._tmp.values():
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
        self._tmp.clear()


class Annotator:
    """Draws boxes and labels with supervision's annotators."""

    def __init__(self, labels: list[str]) -> None:
        import supervision as sv

        self._sv = sv
        self._labels = labels
        self._box = sv.BoxAnnotator(thickness=2)
        self._text = sv.LabelAnnotator(text_scale=0.5, text_padding=3)

    def __call__(self, frame: npt.NDArray[np.uint8], dets: Detections) -> npt.NDArray[np.uint8]:
        if len(dets) == 0:
            return frame
        sv_dets = self._sv.Detections(xyxy=dets.boxes.astype(np.float32), confidence=dets.scores,
                                      class_id=dets.class_ids.astype(int),
                                      tracker_id=dets.track_ids if dets.track_ids is not None else None)
        names = [label_name(self._labels, c) for c in dets.class_ids.tolist()]
        texts = [f"#{t} {n} {s:.2f}" if t >= 0 else f"{n} {s:.2f}"
                 for n, s, t in zip(names, dets.scores.tolist(),
                                    (dets.track_ids if dets.track_ids is not None else [-1] * len(dets)))]
        out = self._box.annotate(frame, sv_dets)
        return self._text.annotate(out, sv_dets, labels=texts)


def label_name(labels: list[str], class_id: int) -> str:
    return labels[class_id] if 0 <= class_id < len(labels) else f"class{class_id}"


def frame_record(index: int, dets: Detections, labels: list[str]) -> dict[str, Any]:
    """The JSON line of one frame."""
    tids = dets.track_ids.tolist() if dets.track_ids is not None else [None] * len(dets)
    return {
        "frame": index,
        "detections": [
            {"box": [round(v, 2) for v in box], "class_id": c, "label": label_name(labels, c),
             "score": round(s, 4), "track_id": t}
            for box, c, s, t in zip(dets.boxes.tolist(), dets.class_ids.tolist(), dets.scores.tolist(), tids)
        ],
    }


def run_video(detector: TiledDetector, input_path: Path, outputs: Outputs, labels: list[str],
              tracker: Tracker | None = None, max_frames: int | None = None, progress: bool = True,
              extra_summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """Process a video end to end; returns the summary (also written to ``outputs.summary``)."""
    from tqdm import tqdm

    outputs.check_writable()
    reader = FrameReader(input_path, max_frames)
    writer: FrameWriter | None = None
    times = detector.times
    n = 0
    n_dets = 0
    track_ids: set[int] = set()
    start = time.perf_counter()
    try:
        if outputs.video is not None:
            fourcc = cv2.VideoWriter.fourcc(*_FOURCC[outputs.video.suffix.lower()])
            encoder = cv2.VideoWriter(str(outputs.tmp(outputs.video)), fourcc, reader.fps,
                                      (reader.width, reader.height))
            if not encoder.isOpened():
                raise OutputError(f"cannot open output video '{outputs.video}' for writing")
            writer = FrameWriter(encoder, Annotator(labels), times)
        total = reader.frame_count if max_frames is None else min(max_frames, reader.frame_count or max_frames)
        with open(outputs.tmp(outputs.jsonl), "w", encoding="utf-8") as jsonl, \
                tqdm(total=total or None, unit="frame", disable=not progress, desc="tiled") as bar:
            for frame in reader:
                if frame.shape[:2] != (reader.height, reader.width):
                    raise InputVideoError(f"frame {n} of '{input_path}' is {frame.shape[1]}x{frame.shape[0]}; "
                                          f"expected {reader.width}x{reader.height} like the first frame")
                dets = detector.detect(frame)
                if tracker is not None:
                    t0 = time.perf_counter()
                    dets = tracker.update(dets)
                    times.add("track", time.perf_counter() - t0)
                    track_ids.update(int(t) for t in (dets.track_ids if dets.track_ids is not None else []))
                n_dets += len(dets)
                jsonl.write(json.dumps(frame_record(n, dets, labels)) + "\n")
                if writer is not None:
                    writer.put(frame, dets)
                n += 1
                bar.update(1)
        if writer is not None:
            writer.close()  # the last frames are encoded before the clock stops
            writer = None
        wall = time.perf_counter() - start
        latency = times.summary()
        if reader.decode_ms:
            arr = np.asarray(reader.decode_ms)
            latency["read"] = {"p50": round(float(np.percentile(arr, 50)), 2),
                               "p95": round(float(np.percentile(arr, 95)), 2), "mean": round(float(arr.mean()), 2)}
        summary: dict[str, Any] = {
            "input": str(input_path),
            "output": str(outputs.video) if outputs.video else None,
            "frames": n,
            "fps": round(n / wall, 3) if wall > 0 else None,
            "wall_s": round(wall, 3),
            "frame_size": [reader.width, reader.height],
            "tiles_per_frame": int(len(detector.tiles_for(reader.width, reader.height))),
            "batch_size": detector.engine.spec.batch_size,
            "detections": n_dets,
            "tracks": len(track_ids) if tracker is not None else None,
            "latency_ms": latency,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        summary.update(extra_summary or {})
        with open(outputs.tmp(outputs.summary), "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
            fh.write("\n")
        outputs.commit()
        return summary
    except BaseException:
        if writer is not None:
            try:
                writer.close()
            except OutputError:
                pass  # the original error is the one to report
        outputs.discard()
        raise
    finally:
        reader.close()


__all__ = ["FrameReader", "FrameWriter", "Outputs", "TiledError", "current_rss_mb", "load_labels", "run_video"]
