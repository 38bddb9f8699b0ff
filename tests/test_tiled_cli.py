"""The tiled CLI end to end over a generated video, and its bad-input contract: one ``error:`` line,
a non-zero exit code, and no output left behind (issue 4 "Bad input")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.builders.scenes import motion_scene, write_video
from conformance import SOURCE_ROOT
from conformance.tiled.assets import ensure_detector, tiled_dir


@pytest.fixture(scope="module")
def assets() -> Path:
    return ensure_detector()


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(motion_scene(1280, 720, 6), tmp_path_factory.mktemp("video") / "clip.mp4")


def _cli(*args: str | Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.tiled", "--no-progress", *map(str, args)], cwd=SOURCE_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_writes_video_json_lines_and_summary(assets: Path, video: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = _cli("--input", video, "--output", out, "--enable-tracking", "--max-frames", "5", "--conf", "0.25")
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 5, f"expected one JSON line per frame (5), got {len(lines)}"
    first = json.loads(lines[0])
    assert first["frame"] == 0 and isinstance(first["detections"], list), f"bad record {first}"
    for det in (d for line in lines for d in json.loads(line)["detections"]):
        assert set(det) == {"box", "class_id", "label", "score", "track_id"}, f"record fields {sorted(det)}"
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["frames"] == 5 and summary["fps"] > 0, f"summary {summary}"
    assert {"slice", "infer", "decode", "merge", "track", "read"} <= set(summary["latency_ms"]), summary["latency_ms"]
    assert all({"p50", "p95"} <= set(v) for v in summary["latency_ms"].values()), summary["latency_ms"]
    assert summary["peak_rss_mb"] > 0, f"summary {summary}"
    import cv2

    cap = cv2.VideoCapture(str(out))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert frames == 5, f"annotated video has {frames} frames, expected 5"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.mp4", "out.summary.json"], (
        f"unexpected files left: {sorted(p.name for p in tmp_path.iterdir())}")


@pytest.fixture(scope="module")
def bad_engines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A batch-4 export of the detector, an ONNX whose output has 7 columns and an unprepared float export."""
    pytest.importorskip("torch", reason="building engine fixtures needs torch==2.13.0 (the dev extra)")
    onnx = pytest.importorskip("onnx", reason="building the wrong-layout fixture needs onnx (the dev extra)")
    from onnx import TensorProto, helper

    from conformance.builders.tiny_detector import export_onnx
    from conformance.tiled.assets import float_onnx_of

    root = tmp_path_factory.mktemp("engines")
    b4 = export_onnx(root / "model_b4.onnx", batch=4, train_steps=0)
    zeros = helper.make_tensor("z", TensorProto.FLOAT, [8, 8400, 7], np.zeros(8 * 8400 * 7, np.float32))
    graph = helper.make_graph([helper.make_node("Constant", [], ["output"], value=zeros)], "seven",
                              [helper.make_tensor_value_info("tiles", TensorProto.UINT8, [8, 640, 640, 3])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [8, 8400, 7])])
    seven = root / "seven_columns.onnx"
    onnx.save(helper.make_model(graph), seven)
    return {"batch4": b4, "seven": seven, "float": float_onnx_of(export_onnx(root / "model_b8.onnx", train_steps=0))}


def _corrupt(tmp: Path) -> Path:
    path = tmp / "corrupt.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    return path


def _empty_video(tmp: Path) -> Path:
    import cv2

    path = tmp / "empty.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30, (640, 480))
    writer.release()
    if not path.exists():
        path.write_bytes(b"")
    return path


CASES = [
    ("missing-video", lambda t, v, e: ["--input", t / "nope.mp4"], 3, r"input video '.*nope.mp4' not found"),
    ("corrupt-video", lambda t, v, e: ["--input", _corrupt(t)], 3, r"input video '.*corrupt.mp4' (cannot be opened|has no decodable frames)"),
    ("zero-frame-video", lambda t, v, e: ["--input", _empty_video(t)], 3, r"input video '.*empty.mp4' (cannot be opened|has no decodable frames)"),
    ("missing-output-dir", lambda t, v, e: ["--input", v, "--output", t / "no" / "such" / "dir" / "o.mp4"], 4,
     r"output directory '.*dir' does not exist"),
    ("bad-output-extension", lambda t, v, e: ["--input", v, "--output", t / "o.mkv"], 4, r"expected one of \['.avi', '.mp4'\]"),
    ("missing-engine", lambda t, v, e: ["--input", v, "--engine", t / "model_b8_gpu0_fp32.onnx"], 5,
     r"engine file '.*model_b8_gpu0_fp32.onnx' not found"),
    ("engine-batch-4", lambda t, v, e: ["--input", v, "--engine", e["batch4"]], 5, r"expected batch 8, found batch 4"),
    ("engine-layout", lambda t, v, e: ["--input", v, "--engine", e["seven"]], 5,
     r"expected output \[B,N,6\] .*found 'output' \[8, 8400, 7\]"),
    ("engine-not-prepared", lambda t, v, e: ["--input", v, "--engine", e["float"]], 5,
     r"expected a uint8 input \[B,H,W,3\] .*found float32 'input' \[8, 3, 640, 640\]; prepare the ONNX with "
     r"`python -m app.tiled.prepare_onnx"),
    ("missing-labels", lambda t, v, e: ["--input", v, "--labels", t / "labels.txt"], 6, r"labels file '.*labels.txt' not found"),
    ("unreadable-labels", lambda t, v, e: ["--input", v, "--labels", t], 6, r"labels file '.*' is unreadable"),
    ("bad-overlap", lambda t, v, e: ["--input", v, "--overlap", "1.5"], 2, r"overlap must be in \[0, 1\), but got 1.5"),
]


@pytest.mark.parametrize(("make_args", "code", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line_a_nonzero_exit_and_no_output(assets: Path, video: Path, bad_engines: dict[str, Path],
                                                                  tmp_path: Path, make_args, code: int,
                                                                  message: str) -> None:
    import re

    inputs = tmp_path / "in"
    inputs.mkdir()
    outdir = tmp_path / "out"
    outdir.mkdir()
    args = [str(a) for a in make_args(inputs, video, bad_engines)]
    if "--output" not in args:
        args += ["--output", str(outdir / "o.mp4")]
    result = _cli(*args)
    err = result.stderr.strip().splitlines()
    assert result.returncode == code, f"exit {result.returncode}, expected {code}; stderr: {result.stderr[-1500:]}"
    assert len(err) == 1 and err[0].startswith("error: "), f"expected one 'error: ...' line, got {err}"
    assert re.search(message, err[0]), f"message {err[0]!r} does not match {message!r}"
    assert not list(outdir.iterdir()), f"output left behind: {sorted(p.name for p in outdir.iterdir())}"


def test_failure_mid_run_leaves_nothing_behind(assets: Path, video: Path, tmp_path: Path) -> None:
    from app.tiled.engines import OpenCVEngine
    from app.tiled.errors import EngineError
    from app.tiled.pipeline import TiledDetector
    from app.tiled.video import Outputs, run_video

    class FailsOnThirdBatch(OpenCVEngine):
        calls = 0

        def infer(self, batch, tiles):
            self.calls += 1
            if self.calls == 3:
                raise EngineError("device lost")
            return super().infer(batch, tiles)

    outputs = Outputs(tmp_path / "o.mp4", tmp_path / "o.jsonl", tmp_path / "o.summary.json")
    with pytest.raises(EngineError, match="device lost"):
        run_video(TiledDetector(FailsOnThirdBatch(assets)), video, outputs, ["a", "b", "c"], progress=False)
    assert not list(tmp_path.iterdir()), f"half-written output left: {sorted(p.name for p in tmp_path.iterdir())}"


def test_build_dir_is_git_ignored() -> None:
    result = subprocess.run(["git", "check-ignore", "-q", str(tiled_dir() / "tiny_yolo_b8.onnx")], cwd=SOURCE_ROOT)
    assert result.returncode == 0, "build/tiled/ must be git-ignored: generated models are never committed"
