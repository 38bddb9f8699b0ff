"""Self-proof of the lint and wheel-download checks: each fails on its known-bad input with its message.
No engine needed: hadolint and the fetch script run on the host (the fetch script against 127.0.0.1)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conformance import CHECKS_DIR
from conformance.images import IMAGES_DIR

LINT = str(CHECKS_DIR / "test_image_lint.py")
FETCH = str(CHECKS_DIR / "test_image_wheel_fetch.py")
SCRIPT = IMAGES_DIR / "common" / "fetch-wheel.sh"


def _images_with(tmp_path: Path, extra: str) -> Path:
    images = tmp_path / "images"
    shutil.copytree(IMAGES_DIR, images)
    dockerfile = images / "yolo-tiled" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + extra)
    return images


def _script_with(tmp_path: Path, find: str, replace: str) -> Path:
    text = SCRIPT.read_text()
    assert text.count(find) == 1, f"{SCRIPT} changed: {find!r} should occur once; update this known-bad"
    bad = tmp_path / "fetch-wheel.sh"
    bad.write_text(text.replace(find, replace))
    return bad


def test_lint_fails_on_unpinned_pip_install(run_checks, tmp_path: Path) -> None:
    images = _images_with(tmp_path, "RUN python3 -m pip install requests\n")
    result = run_checks(LINT, f"--images-dir={images}", "-k", "yolo-tiled")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*hadolint finds in*DL3013*", "*expected none at warning level*"])


def test_lint_fails_on_unjustified_ignore(run_checks, tmp_path: Path) -> None:
    images = _images_with(tmp_path, "\n# hadolint ignore=DL3013\nRUN python3 -m pip install requests\n")
    result = run_checks(LINT, f"--images-dir={images}", "-k", "yolo-tiled")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*hadolint ignores without a reason*DL3013*"])


def test_fetch_without_retries_fails_on_503s(run_checks, tmp_path: Path) -> None:
    bad = _script_with(tmp_path, "--retry 5 --retry-delay 1 --retry-connrefused ", "")
    result = run_checks(FETCH, f"--fetch-script={bad}")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*exited 22 after 1 requests to a server answering 503 three times*"])


def test_fetch_trusting_its_cache_fails_on_truncated_wheel(run_checks, tmp_path: Path) -> None:
    bad = _script_with(tmp_path, 'if [ -f "$dest" ] && ! verify "$dest"; then', "if false; then")
    result = run_checks(FETCH, f"--fetch-script={bad}")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*expected the truncated cached wheel deleted and downloaded again*"])


COMPOSE = str(CHECKS_DIR / "test_image_compose.py")


def _images_with_compose(tmp_path: Path, name: str, find: str, replace: str) -> Path:
    images = tmp_path / "images"
    shutil.copytree(IMAGES_DIR, images)
    path = images / name
    text = path.read_text()
    assert text.count(find) == 1, f"{path.name} changed: {find!r} should occur once; update this known-bad"
    path.write_text(text.replace(find, replace))
    return images


def test_compose_fails_on_writable_models_mount(run_checks, tmp_path: Path) -> None:
    images = _images_with_compose(tmp_path, "compose.yaml", "/gliner2-tiny:/models/gliner2:ro",
                                  "/gliner2-tiny:/models/gliner2")
    result = run_checks(COMPOSE, f"--images-dir={images}", "-k", "read_only and gliner2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*/models/gliner2 (expected :ro)*"])


def test_compose_fails_on_gpu_runtime_in_base(run_checks, tmp_path: Path) -> None:
    images = _images_with_compose(tmp_path, "compose.yaml", "    shm_size: \"1gb\"\n",
                                  "    shm_size: \"1gb\"\n    runtime: nvidia\n")
    result = run_checks(COMPOSE, f"--images-dir={images}", "-k", "base_compose")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*service gliner2 sets *runtime*, expected no GPU settings*"])
