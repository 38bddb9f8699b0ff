"""A missing NMS library is an error naming the build command, not a crash or a silent skip."""

from __future__ import annotations

from pathlib import Path

from conformance import CHECKS_DIR


def test_missing_library_errors_with_the_build_command(run_checks, tmp_path: Path) -> None:
    result = run_checks(f"{CHECKS_DIR / 'nms' / 'test_nms_properties.py'}::test_equal_scores_keep_the_lower_index",
                        f"--nms-lib={tmp_path / 'absent.so'}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*NMS library not found at*make -C nms_cpp*"])
