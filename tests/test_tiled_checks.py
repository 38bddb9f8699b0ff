"""Self-proof of the tiled checks: each passes on the real thing and fails, with its message, on a
known-bad fixture from fixtures/tiled/bad/ (issue 4; "a check that cannot fail is a defect")."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance import CHECKS_DIR, FIXTURES_DIR
from conformance.fixtures_tiled import BUILD_DIR, ensure_assets

BAD = FIXTURES_DIR / "tiled" / "bad"
GEOMETRY = str(CHECKS_DIR / "test_tiled_geometry.py")
SEAMS = str(CHECKS_DIR / "test_tiled_seams.py")
TRACKING = str(CHECKS_DIR / "test_tiled_tracking.py")
PARITY = str(CHECKS_DIR / "test_tiled_parity.py")
PERF = str(CHECKS_DIR / "test_tiled_perf.py")


def test_geometry_checks_pass_on_the_app(run_checks) -> None:
    run_checks(GEOMETRY).assert_outcomes(passed=19)


def test_padding_tiler_fails_the_geometry_checks(run_checks) -> None:
    result = run_checks(GEOMETRY, f"--tiled-tiler={BAD / 'padding_tiler.py'}:slice_boxes")
    result.assert_outcomes(failed=11, passed=8)
    result.stdout.fnmatch_lines([
        "*1920x1080 at 640/0.2: found 8 tile origins*expected 8 [(0, 0), (512, 0), (1024, 0), (1280, 0)*",
        "*1920x1080: tiles [[1536, 0, 2176, 640]*reach outside the frame (padding)*",
    ])


def test_seam_check_passes_on_the_app(run_checks) -> None:
    run_checks(SEAMS).assert_outcomes(passed=5)


@pytest.mark.parametrize(("fixture", "message"), [
    ("concat_merger.py", "*1920x1080, 25 objects on seams*: 2 detections with IoU >= 0.9*"),
    ("iou_nms_merger.py", "*1920x1080, 25 objects on seams*extra detection*a seam fragment*"),
], ids=["no-cross-tile-merge", "iou-nms-merge"])
def test_bad_merges_fail_the_seam_check(run_checks, fixture: str, message: str) -> None:
    result = run_checks(SEAMS, f"--tiled-merger={BAD / fixture}:merge")
    # the 500x400 frame is a single tile: no seam, so even a bad merge passes there
    result.assert_outcomes(failed=4, passed=1)
    result.stdout.fnmatch_lines([message])


def test_tracking_check_passes_with_bytetrack(run_checks) -> None:
    run_checks(TRACKING).assert_outcomes(passed=1)


def test_order_tracker_fails_the_tracking_check(run_checks) -> None:
    result = run_checks(TRACKING, f"--tiled-tracker={BAD / 'order_tracker.py'}:OrderTracker")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*90 frames, 8 objects: MOTA *, * ID switches*expected <= 0 ID switches*"])


@pytest.fixture(scope="module")
def other_seed_onnx() -> Path:
    pytest.importorskip("torch", reason="building the known-bad model needs torch==2.13.0 (the dev extra)")
    ensure_assets()
    path = BUILD_DIR / "bad" / "tiny_yolo_b8_other_seed.onnx"
    if not path.is_file():
        from app.tiled.model_builder import export_onnx

        export_onnx(path, seed=1, train_steps=0)
    return path


def test_parity_check_passes_on_the_project_model(run_checks) -> None:
    ensure_assets()
    run_checks(PARITY).assert_outcomes(passed=1, skipped=1)


def test_model_from_another_seed_fails_the_parity_check(run_checks, other_seed_onnx: Path) -> None:
    result = run_checks(PARITY, f"--tiled-onnx={other_seed_onnx}")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*tiny_yolo_b8_other_seed.onnx vs torch-reference on 8 tiles x 8400 anchors: "
                                 "max box error*expected box error <= 0.05 px*"])


@pytest.fixture
def short_criteria(tmp_path: Path) -> Path:
    """The shipped criteria with fewer frames, so the known-bad perf runs stay short."""
    data = yaml.safe_load((FIXTURES_DIR / "tiled" / "criteria.yaml").read_text())
    data["performance"].update(fps_frames=8, fps_warmup_frames=2, rss_frames=300, rss_warmup_frames=10)
    path = tmp_path / "criteria.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_slow_engine_fails_the_fps_check(run_checks, short_criteria: Path) -> None:
    ensure_assets()
    result = run_checks(PERF, "-k", "fps", "--benchmark-disable", f"--tiled-criteria={short_criteria}",
                        f"--tiled-engine-loader={BAD / 'slow_engine.py'}:load_engine")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["*10 frames of 1920x1080 (8 tiles, batch 8)*FPS*expected >= 1.0 FPS (profile generic-host)*"])


def test_leaky_engine_fails_the_rss_check(run_checks, short_criteria: Path) -> None:
    ensure_assets()
    result = run_checks(PERF, "-k", "rss", "--run-slow", "--benchmark-disable", f"--tiled-criteria={short_criteria}",
                        f"--tiled-engine-loader={BAD / 'leaky_engine.py'}:load_engine")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["*RSS grew * MB * over 300 frames of 1920x1080*expected < 50* MB (profile generic-host)*"])


def test_slow_merge_fails_the_sahi_overhead_benchmark(run_checks) -> None:
    pytest.importorskip("sahi", reason="the SAHI comparison needs sahi (benchmark-only dependency)")
    result = run_checks(str(CHECKS_DIR / "test_tiled_overhead.py"), "--benchmark-disable", "-k", "raw",
                        f"--tiled-merger={BAD / 'slow_merger.py'}:merge")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*1920x1080 (8 tiles, 25 objects on seams x 12 raw candidates, one core): app *"
                                 "ms/frame*SAHI*ratio*expected the app's overhead >= 4.0x lower than SAHI's*"])
