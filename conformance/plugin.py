"""The suite's pytest plugin: options, tier markers and their skips, known deviations, core fixtures.

Wired from the repository's root `conftest.py`; elsewhere load it with `-p conformance.plugin` (see the README,
"Certify your own image"). Each area's fixtures live in the `conftest.py` beside its checks.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from conformance import CHECKS_DIR, IMAGES_DIR, work_dir
from conformance.config import ConfigError
from conformance.config.deviations import load_deviations
from conformance.config.images import load_variants
from conformance.config.profiles import Profile, ProfileChoice, ProfileError, choose_profile
from conformance.device.facts import DeviceInfo
from conformance.device.recordings import Recording, RecordingError
from conformance.docker.containers import forbid_runtime
from conformance.docker.bases import stand_in_tags
from conformance.docker.builder import Builder, detect_builder
from conformance.docker.images import ImageBuilds
from conformance.docker.prebuilt import Prebuilt, PrebuiltImageError, describe
from conformance.options import add_options
from conformance.reports.summary import ConformanceReport
from conformance.tiers import TIERS, Capabilities

MARKERS = {
    "docker": "needs a Docker engine with BuildKit; where none runs: `python -m conformance engine up --install`",
    "gpu": "needs a CUDA GPU (TensorRT, CUDA torch); any NVIDIA machine, Orin included",
    "jetson": "needs a real Orin (L4T, nvidia runtime, tegrastats), or --simulate-device NAME for a SIMULATED run",
    "benchmark": "measures with pytest-benchmark; thresholds come from the device profile",
    "slow": "takes long (soak, long video); opt in with --run-slow",
}

CAPABILITIES = pytest.StashKey[Capabilities]()
#: What the --image TAG is (None without --image), settled before collection.
PREBUILT = pytest.StashKey["Prebuilt | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    recording = None
    if simulate := config.getoption("simulate_device"):
        try:
            recording = Recording.open(simulate)
        except (RecordingError, ConfigError) as error:
            raise pytest.UsageError(str(error)) from None
        # A SIMULATED run replays every device fact: it must never start a container on a GPU runtime.
        forbid_runtime("nvidia", f"this run is SIMULATED from {recording.label()}")
    elif config.getoption("live_image_probes"):
        raise pytest.UsageError("--live-image-probes: only with --simulate-device NAME (on an Orin the probes "
                                "always run for real)")
    capabilities = Capabilities(recording=recording)
    config.stash[CAPABILITIES] = capabilities
    config.pluginmanager.register(ConformanceReport(config, lambda: _choose(config), capabilities),
                                  "conformance-report")
    config.stash[PREBUILT] = _describe_given_image(config, capabilities)


def _chosen_variant(config: pytest.Config, capabilities: Capabilities) -> str:
    chosen = config.getoption("image_variant")
    if chosen:
        return str(chosen)
    return "jetson" if capabilities.device.is_jetson and not capabilities.simulated else "generic"


def _describe_given_image(config: pytest.Config, capabilities: Capabilities) -> Prebuilt | None:
    """What --image TAG is; a one-line usage error when the kit cannot tell and the user did not say."""
    tag, kind, spec_file = (config.getoption(name) for name in ("image", "image_kind", "image_spec"))
    if not tag:
        if kind or spec_file:
            raise pytest.UsageError("--image-kind and --image-spec describe an image given with --image TAG")
        return None
    if problem := capabilities.problem("docker"):
        raise pytest.UsageError(f"--image {tag}: cannot inspect it: {problem}")
    try:
        return describe(detect_builder().docker, tag, load_variants()[1], _chosen_variant(config, capabilities),
                        kind, spec_file)
    except PrebuiltImageError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    capabilities = config.stash.get(CAPABILITIES, None)
    if capabilities is not None and capabilities.recording is not None:
        capabilities.recording.close()


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
        item.user_properties.append(("SIMULATED", f"device data from {capabilities.device_source}; not a "
                                                   "measurement of an Orin"))
    for tier in TIERS:
        if item.get_closest_marker(tier) and (problem := capabilities.problem(tier)):
            pytest.skip(f"{tier}: {problem}")
    # A SIMULATED jetson check replays recorded facts: instant, so `slow` (soak, restarts) needs no opt-in.
    replayed = capabilities.simulated and item.get_closest_marker("jetson") is not None
    if item.get_closest_marker("slow") and not item.config.getoption("run_slow") and not replayed:
        pytest.skip("slow: opt in with --run-slow")


@pytest.hookimpl(wrapper=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Generator[None, Any, Any]:
    """In a SIMULATED run every result says so, per check: `PASSED (SIMULATED)` with -v."""
    status = yield
    capabilities = config.stash.get(CAPABILITIES, None)
    if capabilities is None or not capabilities.simulated or not status or not isinstance(status, tuple):
        return status
    category, letter, word = status
    if isinstance(word, tuple) and word and word[0]:
        return category, letter, (f"{word[0]} (SIMULATED)", word[1])
    if isinstance(word, str) and word:
        return category, letter, f"{word} (SIMULATED)"
    return status


# --- fixtures ----------------------------------------------------------------------------------------

class SpeedGate:
    """Whether this run holds the speed of the machine it runs on to a threshold.

    `make bench` (pytest-benchmark enabled) does: it measures, and a miss fails. `make test` runs with
    `--benchmark-disable` on a shared CI machine: the benchmark checks still run their workload and every
    assertion about correctness, and record their figures, but a timing taken on a busy machine is not a
    verdict, so a miss is recorded (`speed_not_gated`) instead of failing. Device checks that judge recorded or
    measured device facts do not use this: they always gate.
    """

    def __init__(self, enforced: bool, record: Callable[[str, object], None]) -> None:
        self.enforced = enforced
        self._record = record

    def require(self, ok: bool, message: str) -> None:
        __tracebackhide__ = True
        if self.enforced:
            assert ok, message
        elif not ok:
            self._record("speed_not_gated", f"make bench would fail this: {message}")


@pytest.fixture
def speed_gate(request: pytest.FixtureRequest, record_property: Callable[[str, object], None]) -> SpeedGate:
    """The run's speed gate (see SpeedGate): enforced when pytest-benchmark measures (`make bench`)."""
    benchmark = request.getfixturevalue("benchmark")
    return SpeedGate(not benchmark.disabled, record_property)


@pytest.fixture(scope="session")
def reports_dir(pytestconfig: pytest.Config) -> Path:
    path: Path = pytestconfig.getoption("reports_dir")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> DeviceInfo:
    """The device as probed on this machine (/), or as recorded with --simulate-device NAME."""
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
    return _chosen_variant(pytestconfig, pytestconfig.stash[CAPABILITIES])


@pytest.fixture(scope="session")
def images_dir(pytestconfig: pytest.Config) -> Path:
    path: Path = pytestconfig.getoption("images_dir")
    if not path.is_dir() and path == IMAGES_DIR:
        raise pytest.UsageError(f"no images tree at {path} (an installed kit ships none): pass --images-dir DIR, "
                                "the tree your images are built from")
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
def image_builds(docker_builder: Builder, images_dir: Path, image_variant: str, reports_dir: Path,
                 tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> ImageBuilds:
    """The images of --images-dir for the session's variant, each built at most once per session; shared by
    the areas that run them (the image checks, the compose stack), so a session builds each image once."""
    variants, specs = load_variants()
    return ImageBuilds(docker_builder, images_dir, variants[image_variant], specs, reports_dir / "images",
                       tmp_path_factory.mktemp("image-builds"), work_dir() / "wheelhouse",
                       float(pytestconfig.getoption("build_timeout")))


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
