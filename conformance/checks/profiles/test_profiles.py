"""Profile checks: every device profile loads and carries each threshold the suite reads
(docs/design.md, Device profiles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.config.profiles import ProfileError, load_profile


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "profile_file" in metafunc.fixturenames:
        directory: Path = metafunc.config.getoption("profiles_dir")
        files = sorted(directory.glob("*.yaml"))
        metafunc.parametrize("profile_file", files, ids=[f.stem for f in files])


def test_profile_is_complete_and_valid(profile_file: Path) -> None:
    try:
        load_profile(profile_file)
    except ProfileError as error:
        pytest.fail(f"{error}; expected every field of conformance.profiles.Thresholds; fix the file "
                    "(docs/design.md, Device profiles)", pytrace=False)
