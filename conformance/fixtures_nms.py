"""Options and fixtures of the nms checks (a sub-plugin loaded by conformance.plugin).

``--nms-lib PATH`` selects the build of libnms_merger under test (default: the release build next to the
binding, built with ``make -C nms_cpp`` when missing); the project's own tests point it at the
known-bad variants in ``nms_cpp/build/``. ``--nms-examples N`` sets the Hypothesis examples per property.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis import settings

import pytest
import yaml

from conformance import FIXTURES_DIR, REPO_ROOT

#: Name of the Hypothesis profile the nms properties run under (registered in pytest_configure).
HYPOTHESIS_PROFILE = "nms-conformance"
DEFAULT_EXAMPLES = 1000
NMS_DIR = REPO_ROOT / "nms_cpp"
DEFAULT_LIB = NMS_DIR / "libnms_merger.so"
NMS_FIXTURES = FIXTURES_DIR / "nms"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption(
        "--nms-lib", metavar="PATH", type=Path, default=None,
        help="libnms_merger build under test (default: nms_cpp/libnms_merger.so, built if missing)",
    )
    group.addoption(
        "--nms-examples", metavar="N", type=int, default=DEFAULT_EXAMPLES,
        help=f"Hypothesis examples per NMS property (default {DEFAULT_EXAMPLES}, the issue-3 floor)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Registered here, not at import: the properties pick it up with settings(get_profile(...)).
    # Hypothesis is an extra ('.[nms]'): the suite's core must load without it (the checks then skip).
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    settings.register_profile(
        HYPOTHESIS_PROFILE,
        max_examples=int(config.getoption("nms_examples", DEFAULT_EXAMPLES)),
        deadline=None,  # one example may be a 2,000-box oracle run on a shared 2-core machine
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


def nms_settings() -> "settings":
    """The nms Hypothesis profile (falls back to the defaults when the plugin is not loaded)."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    try:
        return settings.get_profile(HYPOTHESIS_PROFILE)
    except InvalidArgument:  # unregistered, e.g. a module imported outside pytest
        return settings(max_examples=DEFAULT_EXAMPLES, deadline=None)


def build_default_library() -> None:
    """``make -C nms_cpp all`` (release, sanitizer and known-bad builds); raises with the compiler output."""
    proc = subprocess.run(["make", "-C", str(NMS_DIR), "all"], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"`make -C nms_cpp all` failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="session")
def nms_lib_path(pytestconfig: pytest.Config) -> Path:
    """Path of the library under test; the default build is made on demand."""
    chosen = pytestconfig.getoption("nms_lib")
    if chosen is not None:
        return Path(chosen).resolve()
    if not DEFAULT_LIB.exists():
        build_default_library()
    return DEFAULT_LIB


@pytest.fixture(scope="session")
def nms_lib(nms_lib_path: Path) -> Any:
    """The loaded library under test (an ``nms_cpp.NmsLibrary``)."""
    import nms_cpp  # the binding under test; imported here so collecting other families never needs it

    return nms_cpp.load_library(nms_lib_path)


def load_criteria() -> dict[str, Any]:
    """Workloads, fixed scenes and speed targets from fixtures/nms/criteria.yaml."""
    with open(NMS_FIXTURES / "criteria.yaml", encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


@pytest.fixture(scope="session")
def nms_criteria() -> dict[str, Any]:
    """fixtures/nms/criteria.yaml, loaded once."""
    return load_criteria()
