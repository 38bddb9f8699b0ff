"""Self-proof of the NMS checks: each known-bad build of libnms_merger (same sources, one compile flag,
see nms_cpp/Makefile) makes the checks that target its defect FAIL with the expected message."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import CHECKS_DIR
from conformance.fixtures_nms import NMS_DIR, build_default_library

BUILD = NMS_DIR / "build"


@pytest.fixture(scope="module")
def nms_builds() -> Path:
    """nms_cpp/build with every variant (built on demand, as `make setup` does)."""
    needed = ["libnms_merger_bad_ge.so", "libnms_merger_bad_unstable.so", "libnms_merger_asan.so",
              "libnms_merger_asan_bad_oob.so"]
    if not all((BUILD / name).exists() for name in needed) or not (NMS_DIR / "libnms_merger.so").exists():
        build_default_library()
    return BUILD


CASES = [
    # (variant, check, expected failure line)
    ("libnms_merger_bad_ge.so", "test_nms_oracle.py::test_nms_keeps_the_same_indices_as_the_oracle",
     "*kept indices differ from the oracle*"),
    ("libnms_merger_bad_ge.so", "test_nms_oracle.py::test_tile_merge_gives_the_oracles_boxes",
     "*differ from the oracle*"),
    ("libnms_merger_bad_ge.so", "test_nms_properties.py::test_a_box_exactly_at_the_threshold_is_kept",
     "*IoU exactly 0.5 at iou_threshold 0.5 kept [[]0[]], expected [[]0, 1[]]*"),
    ("libnms_merger_bad_unstable.so", "test_nms_oracle.py::test_nms_keeps_the_same_indices_as_the_oracle",
     "*kept indices differ from the oracle*"),
    ("libnms_merger_bad_unstable.so", "test_nms_properties.py::test_equal_scores_keep_the_lower_index",
     "*identical boxes with equal scores kept*expected [[]0[]] (ties go to the lower input index*"),
]


@pytest.mark.parametrize("variant,check,expected", CASES,
                         ids=[f"{v.removeprefix('libnms_merger_').removesuffix('.so')}-{c.split('::')[1]}"
                              for v, c, _ in CASES])
def test_known_bad_library_fails_the_check(run_checks, nms_builds: Path, variant: str, check: str,
                                           expected: str) -> None:
    module, name = check.split("::")
    result = run_checks(f"{CHECKS_DIR / module}::{name}", f"--nms-lib={nms_builds / variant}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([expected])


def test_release_library_passes_the_same_fixed_checks(run_checks, nms_builds: Path) -> None:
    result = run_checks(
        f"{CHECKS_DIR / 'test_nms_properties.py'}::test_a_box_exactly_at_the_threshold_is_kept",
        f"{CHECKS_DIR / 'test_nms_properties.py'}::test_equal_scores_keep_the_lower_index",
        f"--nms-lib={NMS_DIR / 'libnms_merger.so'}",
    )
    result.assert_outcomes(passed=2)


def test_missing_library_errors_with_the_build_command(run_checks, tmp_path: Path) -> None:
    result = run_checks(f"{CHECKS_DIR / 'test_nms_properties.py'}::test_equal_scores_keep_the_lower_index",
                        f"--nms-lib={tmp_path / 'absent.so'}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*NMS library not found at*make -C nms_cpp*"])
