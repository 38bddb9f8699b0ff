"""images/build.sh and images/run.sh are thin wrappers over `python -m conformance images build|run`: same
arguments, help and messages as before, one implementation behind them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance import IMAGES_DIR


def _script(name: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(IMAGES_DIR / name), *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={"PATH": "/usr/bin:/bin", "PY": sys.executable}, check=False)


@pytest.mark.parametrize(("name", "first_line"), [
    ("build.sh", "Build the reference images"), ("run.sh", "Run the tiled YOLO image on a video")],
    ids=["build.sh", "run.sh"])
def test_help_is_the_scripts_own(name: str, first_line: str) -> None:
    result = _script(name, "--help")
    assert result.returncode == 0 and result.stdout.startswith(first_line), (result.stdout, result.stderr)
    assert "A thin wrapper" not in result.stdout, "help shows the usage, not the implementation note"


@pytest.mark.parametrize(("name", "args", "message"), [
    ("build.sh", ["--bogus"], "build.sh: unknown argument '--bogus'; expected --variant, --image, --tag-suffix, "
                              "--no-cache"),
    ("build.sh", ["--variant", "x86"], "build.sh: --variant must be generic or jetson, got 'x86'"),
    ("build.sh", ["--variant", "generic", "--image", "all-of-them"],
     "build.sh: --image must be gliner2, yolo-tiled or all, got 'all-of-them'"),
    ("run.sh", ["--input", "missing.mp4", "--model", "m.onnx"],
     "run.sh: --input must name an existing video file, got 'missing.mp4'"),
    ("run.sh", ["--bogus"], "run.sh: unknown argument '--bogus'; expected --input, --model, --labels, --output, "
                            "--conf, --tag, --gpu, --cpu"),
], ids=["build-unknown", "build-variant", "build-image", "run-input", "run-unknown"])
def test_bad_arguments_get_the_scripts_one_line_message(name: str, args: list[str], message: str,
                                                        tmp_path: Path) -> None:
    result = _script(name, *args, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == message, (result.returncode, result.stderr)
