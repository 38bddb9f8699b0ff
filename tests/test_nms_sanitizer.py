"""The NMS checks (fuzzed invalid input, oracle comparisons) under the ASan+UBSan build: zero reports.

Why LD_PRELOAD into a subprocess Python rather than a C++ driver: the checks, the Hypothesis fuzzing and
the ctypes binding are exactly what runs in production, so the sanitizers watch the real call path. ASan
must be the first DSO loaded, hence LD_PRELOAD; reports go to files (pytest captures stderr) that this test
reads. Leak detection is off: CPython's interned objects are reported as leaks at exit.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conformance import CHECKS_DIR
from conformance.nms.library import NMS_DIR, build_default_library

CHECKS = [
    f"{CHECKS_DIR / 'nms' / 'test_nms_robustness.py'}",
    f"{CHECKS_DIR / 'nms' / 'test_nms_oracle.py'}::test_nms_keeps_the_same_indices_as_the_oracle",
    f"{CHECKS_DIR / 'nms' / 'test_nms_oracle.py'}::test_tile_merge_gives_the_oracles_boxes",
    # 20,000-box scenes: the keeper grid's long walks, with every class-id layout
    f"{CHECKS_DIR / 'nms' / 'test_nms_oracle.py'}::test_nms_matches_the_oracle_on_20000_box_scenes",
]


@pytest.fixture(scope="module")
def libasan() -> Path:
    path = Path(subprocess.run(["g++", "-print-file-name=libasan.so"], capture_output=True, text=True,
                               check=True).stdout.strip())
    if not path.is_absolute() or not path.exists():
        pytest.fail(f"libasan.so not found (g++ -print-file-name gave {path}); install the compiler's ASan runtime")
    if not (NMS_DIR / "build" / "libnms_merger_asan.so").exists():
        build_default_library()
    return path


def _run_under_sanitizers(run_checks, monkeypatch: pytest.MonkeyPatch, libasan: Path, lib: Path,
                          logs: Path, *extra: str) -> tuple[pytest.RunResult, str]:
    logs.mkdir()
    monkeypatch.setenv("LD_PRELOAD", str(libasan))
    monkeypatch.setenv("ASAN_OPTIONS", f"detect_leaks=0:abort_on_error=0:log_path={logs / 'asan'}")
    monkeypatch.setenv("UBSAN_OPTIONS", f"halt_on_error=1:print_stacktrace=1:log_path={logs / 'ubsan'}")
    result = run_checks(*CHECKS, f"--nms-lib={lib}", *extra)
    reports = "\n".join(p.read_text(errors="replace") for p in sorted(logs.iterdir()))
    return result, reports


def test_checks_run_clean_under_asan_and_ubsan(run_checks, monkeypatch: pytest.MonkeyPatch, libasan: Path,
                                               tmp_path: Path) -> None:
    result, reports = _run_under_sanitizers(run_checks, monkeypatch, libasan,
                                            NMS_DIR / "build" / "libnms_merger_asan.so", tmp_path / "logs")
    assert reports == "", f"sanitizer reports from libnms_merger_asan.so (expected none):\n{reports[:4000]}"
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes.get("passed", 0) > 20, (
        f"the NMS checks under ASan+UBSan ended with exit {result.ret} and {outcomes}; expected all passed\n"
        + "\n".join(result.outlines[-20:])
    )


def test_sanitizer_run_catches_an_out_of_bounds_write(run_checks, monkeypatch: pytest.MonkeyPatch,
                                                      libasan: Path, tmp_path: Path) -> None:
    """Known-bad: the NMS_BAD_OOB build writes one element past out_keep; the run must report it."""
    result, reports = _run_under_sanitizers(run_checks, monkeypatch, libasan,
                                            NMS_DIR / "build" / "libnms_merger_asan_bad_oob.so",
                                            tmp_path / "logs", "-x")
    assert "AddressSanitizer: heap-buffer-overflow" in reports and "nms_api.cpp" in reports, (
        f"the out-of-bounds variant produced no ASan heap-buffer-overflow report (exit {result.ret}); "
        f"the sanitizer run cannot fail, so it proves nothing:\n{reports[:2000]}"
    )
    assert result.ret != 0, f"the out-of-bounds variant's run exited 0; expected ASan to stop it"
