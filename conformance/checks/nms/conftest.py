"""Fixtures of the NMS checks: the library build under test (`--nms-lib`) and the criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.config.nms import NmsCriteria, load_nms_criteria
from conformance.nms.examples import DEFAULT_EXAMPLES, register_profile
from conformance.nms.library import DEFAULT_LIB, build_default_library


def pytest_configure(config: pytest.Config) -> None:
    register_profile(int(config.getoption("nms_examples", DEFAULT_EXAMPLES)))


@pytest.fixture(scope="session")
def nms_lib_path(pytestconfig: pytest.Config) -> Path:
    """Path of the library under test; the default build is made on demand."""
    chosen = pytestconfig.getoption("nms_lib")
    if chosen is not None:
        return Path(chosen).resolve()
    return DEFAULT_LIB if DEFAULT_LIB.exists() else build_default_library()


@pytest.fixture(scope="session")
def nms_lib(nms_lib_path: Path) -> Any:
    """The loaded library under test (an ``nms_cpp.NmsLibrary``)."""
    import nms_cpp  # the binding under test; imported here so collecting other families never needs it

    return nms_cpp.load_library(nms_lib_path)


@pytest.fixture(scope="session")
def nms_criteria() -> NmsCriteria:
    """fixtures/nms/criteria.yaml, loaded once."""
    return load_nms_criteria()
