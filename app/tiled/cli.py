"""Command line: ``python -m app.tiled --input IN.mp4 --output OUT.mp4 [--enable-tracking] ...``.

Writes the annotated video, one JSON line per frame (``OUT.jsonl``) and a summary (``OUT.summary.json``).
On bad input it prints one ``error: ...`` line and exits non-zero (2 usage/config, 3 input video,
4 output, 5 engine, 6 labels), leaving no output behind.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from app.tiled.errors import ConfigError, TiledError


def _frac(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m app.tiled", description="Tiled YOLO detection over a video.")
    p.add_argument("--input", type=Path, required=True, help="input video (mp4, avi, mov)")
    p.add_argument("--output", type=Path, required=True, help="annotated output video (.mp4 or .avi)")
    p.add_argument("--engine", type=Path, default=Path("build/tiled/tiny_yolo_b8.onnx"),
                   help="ONNX model (CPU, OpenCV DNN) or TensorRT .engine (default: %(default)s)")
    p.add_argument("--labels", type=Path, default=Path("build/tiled/labels.txt"),
                   help="class names, one per line (default: %(default)s)")
    p.add_argument("--conf", type=_frac, default=0.25, help="score threshold (default: %(default)s)")
    p.add_argument("--tile", type=_positive, default=640, help="tile size in pixels (default: %(default)s)")
    p.add_argument("--overlap", type=float, default=0.2, help="tile overlap ratio (default: %(default)s)")
    p.add_argument("--batch", type=_positive, default=8, help="engine batch the engine must have (default: %(default)s)")
    p.add_argument("--iou", type=_frac, default=0.5, help="per-tile NMS IoU threshold (default: %(default)s)")
    p.add_argument("--merge-threshold", type=_frac, default=0.5, help="cross-tile match threshold (default: %(default)s)")
    p.add_argument("--merge-method", choices=("greedy_nmm", "nms"), default="greedy_nmm")
    p.add_argument("--match-metric", choices=("ios", "iou"), default="ios")
    p.add_argument("--enable-tracking", action="store_true", help="ByteTrack ids in the output")
    p.add_argument("--max-frames", type=_positive, default=None, help="stop after this many frames")
    p.add_argument("--jsonl", type=Path, help="per-frame JSON lines (default: OUTPUT with .jsonl)")
    p.add_argument("--summary", type=Path, help="summary JSON (default: OUTPUT with .summary.json)")
    p.add_argument("--threads", type=_positive, default=None, help="OpenCV threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # FFmpeg's own log lines ("moov atom not found") would break the one-line error contract; the app
    # reports unreadable input itself. Set before OpenCV is imported; an explicit setting wins.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except TiledError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; no output written", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    import cv2

    from app.tiled.engines import load_engine
    from app.tiled.errors import InputVideoError
    from app.tiled.geometry import validate_tiling
    from app.tiled.pipeline import TiledDetector
    from app.tiled.postprocess import MergeConfig
    from app.tiled.track import ByteTrackTracker
    from app.tiled.video import Outputs, load_labels, run_video

    validate_tiling(args.tile, args.overlap)
    output: Path = args.output
    outputs = Outputs(video=output, jsonl=args.jsonl or output.with_suffix(".jsonl"),
                      summary=args.summary or output.with_suffix(".summary.json"))
    if len({outputs.video, outputs.jsonl, outputs.summary}) != 3:
        raise ConfigError("--output, --jsonl and --summary must be three different files")
    # Cheap checks first, so a bad path fails before the engine loads.
    outputs.check_writable()
    if not args.input.is_file():
        raise InputVideoError(f"input video '{args.input}' not found; expected an existing video file")
    labels = load_labels(args.labels)
    if args.threads:
        cv2.setNumThreads(args.threads)
    engine = load_engine(args.engine, expected_batch=args.batch)
    try:
        merge = MergeConfig(tile_iou=args.iou, method=args.merge_method, match_metric=args.match_metric,
                            threshold=args.merge_threshold)
        detector = TiledDetector(engine, tile=args.tile, overlap=args.overlap, conf=args.conf, merge=merge)
        tracker = ByteTrackTracker() if args.enable_tracking else None
        summary = run_video(detector, args.input, outputs, labels, tracker=tracker, max_frames=args.max_frames,
                            progress=not args.no_progress, extra_summary={"engine": str(args.engine)})
    finally:
        engine.close()
    logging.getLogger("app.tiled").info("%d frames at %.2f FPS -> %s, %s, %s", summary["frames"], summary["fps"],
                                        outputs.video, outputs.jsonl, outputs.summary)
    return 0
