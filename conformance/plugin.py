"""The suite's pytest plugin: the `conformance` option group, tier markers and their skips, core fixtures.

Wired from the repository's root `conftest.py`; another project loads it with `-p conformance.plugin`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import FIXTURES_DIR, REPO_ROOT, engine
from conformance.capabilities import TIERS, Capabilities
from conformance.device import DeviceInfo
from conformance.profiles import PROFILES_DIR, Profile, ProfileChoice, ProfileError, choose_profile
from conformance.reports import ConformanceReport

# Sub-plugins: each check family keeps its own options and fixtures in its own module.
pytest_plugins = [
    "conformance.fixtures_nms",
    "conformance.fixtures_tiled",
    "conformance.fixtures_gliner2",
    "conformance.fixtures_images",
]

MARKERS = {
    "docker": "needs a Docker engine with BuildKit; where none runs: `python -m conformance engine up --install`",
    "gpu": "needs a CUDA GPU (TensorRT, CUDA torch); any NVIDIA machine, Orin included",
    "jetson": "needs a real Orin (L4T, nvidia runtime, tegrastats), or --device-root for a SIMULATED run",
    "benchmark": "measures with pytest-benchmark; thresholds come from the device profile",
    "slow": "takes long (soak, long video); opt in with --run-slow",
}

CAPABILITIES = pytest.StashKey[Capabilities]()
IMAGE_VARIANTS = ("generic", "jetson")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Orin conformance kit")
    group.addoption("--profile", metavar="NAME", default=None,
                    help="device profile whose thresholds apply (default: detected from the device tree; "
                         "see fixtures/profiles/)")
    group.addoption("--image-variant", choices=IMAGE_VARIANTS, default=None,
                    help="image variant to build and check (default: jetson on a Jetson, else generic)")
    group.addoption("--images-dir", metavar="DIR", type=Path, default=REPO_ROOT / "images",
                    help="tree of images to certify, laid out like ours (default: %(default)s)")
    group.addoption("--image", metavar="TAG", default=None,
                    help="certify this already built image instead of building one")
    group.addoption("--reports-dir", metavar="DIR", type=Path, default=REPO_ROOT / "reports",
                    help="where JUnit XML, summaries and benchmark figures go (default: %(default)s)")
    group.addoption("--device-root", metavar="DIR", type=Path, default=Path("/"),
                    help="read device files under DIR instead of / (a recorded device: results are SIMULATED)")
    group.addoption("--profiles-dir", metavar="DIR", type=Path, default=PROFILES_DIR,
                    help="directory of device profiles (default: %(default)s)")
    group.addoption("--buildkit-probe", metavar="DIR", type=Path, default=FIXTURES_DIR / "engine" / "buildkit-probe",
                    help="build context of the BuildKit cache probe (default: %(default)s)")
    group.addoption("--run-slow", action="store_true", default=False,
                    help="also run checks marked slow (soak, long video)")


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    device_root: Path = config.getoption("device_root")
    if not device_root.is_dir():
        raise pytest.UsageError(f"--device-root {device_root}: not a directory; expected a filesystem root such "
                                "as / or a recording under fixtures/devices/")
    config.stash[CAPABILITIES] = Capabilities(device_root=device_root)
    config.pluginmanager.register(ConformanceReport(config, _choose), "conformance-report")


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


def _choose(config: pytest.Config, device: DeviceInfo | None = None) -> ProfileChoice:
    device = device or config.stash[CAPABILITIES].device
    return choose_profile(device, config.getoption("profile"), config.getoption("profiles_dir"))


# --- fixtures ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


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
def profile_choice(pytestconfig: pytest.Config, device: DeviceInfo) -> ProfileChoice:
    return _choose(pytestconfig, device)


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
def docker_builder(pytestconfig: pytest.Config) -> engine.Builder:
    """The BuildKit-capable builder; skips (with what to install) where there is none."""
    if problem := pytestconfig.stash[CAPABILITIES].problem("docker"):
        pytest.skip(f"docker: {problem}")
    return engine.detect_builder()


def _stand_in(docker_builder: engine.Builder, index: int) -> str:
    _, _, specs = engine.load_base_specs()
    tag = specs[index].tag
    if engine.image_label(docker_builder.docker, tag, engine.BASE_SPEC_LABEL) != specs[index].digest:
        pytest.fail(f"stand-in base {tag} is missing or stale; build it with "
                    "`python -m conformance engine up` (root), as .ci/run does", pytrace=False)
    return tag


@pytest.fixture(scope="session")
def stand_in_base(docker_builder: engine.Builder) -> str:
    """Tag of the local runtime base that stands in for nvcr.io's l4t bases (generic variant)."""
    return _stand_in(docker_builder, 0)


@pytest.fixture(scope="session")
def stand_in_devel_base(docker_builder: engine.Builder) -> str:
    """Tag of the local base with a C++ toolchain (builder stages)."""
    return _stand_in(docker_builder, 1)
