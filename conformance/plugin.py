"""The suite's pytest plugin: options, tier markers and their skips, known deviations, core fixtures.

Wired from the repository's root `conftest.py`; elsewhere load it with `-p conformance.plugin` (see the README,
"Certify your own image"). Each area's fixtures live in the `conftest.py` beside its checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import CHECKS_DIR
from conformance.config.deviations import load_deviations
from conformance.config.profiles import Profile, ProfileChoice, ProfileError, choose_profile
from conformance.device.facts import DeviceInfo
from conformance.docker.bases import stand_in_tags
from conformance.docker.builder import Builder, detect_builder
from conformance.options import add_options
from conformance.reports.summary import ConformanceReport
from conformance.tiers import TIERS, Capabilities

MARKERS = {
    "docker": "needs a Docker engine with BuildKit; where none runs: `python -m conformance engine up --install`",
    "gpu": "needs a CUDA GPU (TensorRT, CUDA torch); any NVIDIA machine, Orin included",
    "jetson": "needs a real Orin (L4T, nvidia runtime, tegrastats), or --device-root for a SIMULATED run",
    "benchmark": "measures with pytest-benchmark; thresholds come from the device profile",
    "slow": "takes long (soak, long video); opt in with --run-slow",
}

CAPABILITIES = pytest.StashKey[Capabilities]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    device_root: Path = config.getoption("device_root")
    if not device_root.is_dir():
        raise pytest.UsageError(f"--device-root {device_root}: not a directory; expected a filesystem root such "
                                "as / or a recording under fixtures/devices/")
    capabilities = Capabilities(device_root=device_root)
    config.stash[CAPABILITIES] = capabilities
    config.pluginmanager.register(ConformanceReport(config, lambda: _choose(config), capabilities),
                                  "conformance-report")


def _choose(config: pytest.Config) -> ProfileChoice:
    return choose_profile(config.stash[CAPABILITIES].device, config.getoption("profile"),
                          config.getoption("profiles_dir"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the known deviations of the active profile strict xfail (fixtures/deviations.yaml)."""
    if config.getoption("ignore_deviations"):
        return
    deviations = load_deviations()
    try:
        profile = _choose(config).profile.name
    except ProfileError:
        return  # no usable profile: the checks that need one error out, saying why

    for item in items:
        node = check_id(item)
        for deviation in deviations:
            if node is not None and deviation.applies(node, profile):
                item.add_marker(pytest.mark.xfail(strict=True, reason=(
                    f"known deviation on {profile} (issue {deviation.issue}): {deviation.reason}")))


def check_id(item: pytest.Item) -> str | None:
    """The item's id relative to conformance/checks ('area/test_x.py::test_name[param]'), None for others."""
    try:
        relative = item.path.resolve().relative_to(CHECKS_DIR)
    except ValueError:
        return None
    return f"{relative.as_posix()}::{item.name}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    capabilities = item.config.stash[CAPABILITIES]
    if capabilities.simulated:
        item.user_properties.append(("SIMULATED", f"device data read from {capabilities.device_root}"))
    for tier in TIERS:
        if item.get_closest_marker(tier) and (problem := capabilities.problem(tier)):
            pytest.skip(f"{tier}: {problem}")
    if item.get_closest_marker("slow") and not item.config.getoption("run_slow"):
        pytest.skip("slow: opt in with --run-slow")


# --- fixtures ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def reports_dir(pytestconfig: pytest.Config) -> Path:
    path: Path = pytestconfig.getoption("reports_dir")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> DeviceInfo:
    """The device as probed under --device-root (default /)."""
    return pytestconfig.stash[CAPABILITIES].device


@pytest.fixture(scope="session")
def profile_choice(pytestconfig: pytest.Config) -> ProfileChoice:
    return _choose(pytestconfig)


@pytest.fixture(scope="session")
def profile(profile_choice: ProfileChoice) -> Profile:
    """The device profile whose thresholds apply (forced with --profile, else detected)."""
    return profile_choice.profile


@pytest.fixture(scope="session")
def image_variant(pytestconfig: pytest.Config, device: DeviceInfo) -> str:
    chosen = pytestconfig.getoption("image_variant")
    if chosen:
        return str(chosen)
    return "jetson" if device.is_jetson and not pytestconfig.stash[CAPABILITIES].simulated else "generic"


@pytest.fixture(scope="session")
def images_dir(pytestconfig: pytest.Config) -> Path:
    path: Path = pytestconfig.getoption("images_dir")
    if not path.is_dir():
        raise pytest.UsageError(f"--images-dir {path}: not a directory; expected a tree laid out like images/")
    return path.resolve()


@pytest.fixture(scope="session")
def prebuilt_image(pytestconfig: pytest.Config) -> str | None:
    """The tag given with --image (certify it, build nothing), or None."""
    return pytestconfig.getoption("image")


@pytest.fixture(scope="session")
def docker_builder(pytestconfig: pytest.Config) -> Builder:
    """The BuildKit-capable builder; skips (with what to install) where there is none."""
    if problem := pytestconfig.stash[CAPABILITIES].problem("docker"):
        pytest.skip(f"docker: {problem}")
    return detect_builder()


@pytest.fixture(scope="session")
def docker_cli(docker_builder: Builder) -> str:
    """Path of the docker client (skips where there is no engine, through docker_builder)."""
    return docker_builder.docker


@pytest.fixture(scope="session")
def stand_in_base(docker_cli: str) -> str:
    """Tag of the local runtime base that stands in for nvcr.io's l4t bases (generic variant)."""
    return _stand_in(docker_cli, 0)


@pytest.fixture(scope="session")
def stand_in_devel_base(docker_cli: str) -> str:
    """Tag of the local base with a C++ toolchain (builder stages)."""
    return _stand_in(docker_cli, 1)


def _stand_in(docker: str, index: int) -> str:
    tag, problem = stand_in_tags(docker)[index]
    if problem:
        pytest.fail(f"stand-in base {tag} is {problem}; build it with `python -m conformance engine up` (root), "
                    "as .ci/run does", pytrace=False)
    return tag
