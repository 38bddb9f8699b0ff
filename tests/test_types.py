"""The code type-checks: mypy over the suite, the apps, the binding and these tests."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conformance import SOURCE_ROOT


def test_mypy_is_clean() -> None:
    pytest.importorskip("mypy", reason="mypy is in the dev extra: pip install -e '.[dev]'")
    result = subprocess.run([sys.executable, "-m", "mypy", "conformance", "app", "nms_cpp", "tests"],
                            cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"mypy found type errors; fix them:\n{result.stdout[-3000:]}"
