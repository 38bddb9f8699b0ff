"""Fixtures of the device checks: where each fact comes from.

On an Orin the probes run for real (the host's files and engine, the GPU probe inside each image under
`--runtime nvidia`, the workloads with tegrastats) and write their facts to `reports/device/`, laid out like a
recording. With `--simulate-device NAME` every fact is replayed from `fixtures/devices/NAME/` and no container
runs with the nvidia runtime; `--live-image-probes` runs the GPU probe for real inside the images built here,
without the nvidia runtime (the probe's own proof in CI). The checks see facts only: they never know which.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance import work_dir
from conformance.config import ConfigError
from conformance.config.devices import DeviceCriteria, load_device_criteria
from conformance.config.probes import GpuProbe, TegrastatsLog
from conformance.device.facts import DeviceInfo, read_mount_specs
from conformance.device.recordings import Recording
from conformance.device.runs import Evidence, ProbeError, probe_image
from conformance.device.tegrastats import Summary, parse_lines, summarise
from conformance.device.verdicts import Judge, Verdict
from conformance.device.verdicts.host import NotApplicable
from conformance.tiers import Capabilities

RecordProperty = Callable[[str, object], None]


def _capabilities(config: pytest.Config) -> Capabilities:
    from conformance.plugin import CAPABILITIES

    return config.stash[CAPABILITIES]


@pytest.fixture(scope="session")
def device_criteria() -> DeviceCriteria:
    return load_device_criteria()


@pytest.fixture(scope="session")
def recording(pytestconfig: pytest.Config) -> Recording | None:
    """The recorded device of a SIMULATED run (--simulate-device), None on a real Orin."""
    return _capabilities(pytestconfig).recording


@pytest.fixture(scope="session")
def evidence(reports_dir: Path) -> Evidence:
    """Where a real run writes its facts: reports/device/, laid out like a recording."""
    return Evidence(reports_dir / "device")


@pytest.fixture(scope="session")
def facts_root(recording: Recording | None, evidence: Evidence) -> Path:
    """The folder the facts' relative paths (tegrastats logs) are read from."""
    return recording.root if recording is not None else evidence.root


@pytest.fixture
def judge(record_property: RecordProperty, recording: Recording | None) -> Judge:
    """Run a verdict: skip with its reason where it does not apply, record its figures (labelled SIMULATED when
    they come from a recording) and return it for the check to assert on."""

    def run(decide: Callable[[], Verdict]) -> Verdict:
        try:
            result = decide()
        except NotApplicable as reason:
            pytest.skip(str(reason))
        except ConfigError as error:  # a recording or a real run's facts that are not in the probe's format
            pytest.fail(f"the facts are unreadable: {error}", pytrace=False)
        for name, value in result.figures.items():
            record_property(name, f"{value} (SIMULATED)" if recording is not None else value)
        return result

    return run


@pytest.fixture(scope="session")
def docker_info_facts(recording: Recording | None, request: pytest.FixtureRequest) -> dict[str, Any]:
    """`docker info` of the Orin's engine, or of the recording."""
    if recording is not None:
        info = recording.docker_info()
        if info is None:
            pytest.skip(f"the recording {recording.name} has no docker-info.json")
        return info
    request.getfixturevalue("docker_builder")  # skips, saying what to start, where no engine answers
    from conformance.docker.engine import docker_info

    return docker_info()


@pytest.fixture(scope="session")
def mount_specs(device: DeviceInfo, device_criteria: DeviceCriteria) -> dict[str, tuple[tuple[str, str], ...] | None]:
    runtime = device_criteria.runtime
    try:
        return read_mount_specs(device.root, runtime.csv_dir, runtime.csv_files)
    except ValueError as error:
        pytest.fail(f"{runtime.csv_dir}: {error}", pytrace=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The container checks run once per image of fixtures/images/variants.yaml (with --image: that one)."""
    if "image_name" in metafunc.fixturenames:
        from conformance.config.images import load_variants
        from conformance.plugin import PREBUILT

        given = metafunc.config.stash.get(PREBUILT, None)
        names = [given.spec.name] if given is not None else sorted(load_variants()[1])
        metafunc.parametrize("image_name", names, ids=names, scope="session")


def _image_tag(request: pytest.FixtureRequest, name: str) -> str:
    """The tag of image `name`: the --image TAG when it is that image, else the session's build of it."""
    from conformance.docker.builder import ImageBuildError
    from conformance.plugin import PREBUILT

    given = request.config.stash.get(PREBUILT, None)
    if given is not None:
        if given.spec.name != name:
            pytest.skip(f"not applicable: --image {given.tag} is the {given.spec.name} image, not {name}")
        return str(given.tag)
    try:
        return str(request.getfixturevalue("image_builds").get(name).tag)
    except ImageBuildError as error:
        pytest.fail(f"image {name} does not build: {error}", pytrace=False)


@pytest.fixture(scope="session")
def gpu_facts(image_name: str, recording: Recording | None, device: DeviceInfo, device_criteria: DeviceCriteria,
              evidence: Evidence, pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> GpuProbe:
    """What the GPU probe found inside image_name: replayed, or run in the built image (nvidia runtime on an
    Orin; no GPU runtime with --live-image-probes)."""
    live = recording is None or pytestconfig.getoption("live_image_probes")
    if not live:
        assert recording is not None  # for the type checker: not live means replayed
        try:
            return recording.gpu_probe(image_name)
        except ConfigError as error:
            pytest.fail(str(error), pytrace=False)
    tag = _image_tag(request, image_name)
    needs = device_criteria.images.get(image_name)
    engine: Path | None = pytestconfig.getoption("tiled_trt_engine")
    drivers = read_mount_specs(device.root, device_criteria.runtime.csv_dir, ("drivers.csv",))["drivers.csv"] or ()
    try:
        facts = probe_image(tag, image_name, device_criteria, runtime=None if recording is not None else "nvidia",
                            runtime_libs=[path for kind, path in drivers if kind == "lib"],
                            engine=engine if needs is not None and needs.tensorrt else None)
    except ProbeError as error:
        pytest.fail(str(error), pytrace=False)
    evidence.write_facts(f"gpu-{image_name}", facts)
    return facts


@pytest.fixture(scope="session")
def tegrastats_summary(facts_root: Path) -> Callable[[TegrastatsLog], Summary]:
    """Summarise a tegrastats log of the facts (its first `baseline_samples` lines are the idle baseline)."""

    def read(log: TegrastatsLog) -> Summary:
        path = facts_root / log.file
        if not path.is_file():
            pytest.fail(f"{path}: the tegrastats log the facts name is missing", pytrace=False)
        return summarise(parse_lines(path.read_text(errors="replace").splitlines()), log.baseline_samples)

    return read


# --- real workloads on an Orin (replayed from the recording in a SIMULATED run) ------------------------------

@pytest.fixture(scope="session")
def live_context(evidence: Evidence, device_criteria: DeviceCriteria, pytestconfig: pytest.Config) -> Any:
    from conformance.device.live import LiveContext

    work = work_dir() / "device"
    work.mkdir(parents=True, exist_ok=True)
    return LiveContext(evidence, work, device_criteria, tegrastats=str(pytestconfig.getoption("tegrastats")),
                       native_python=str(pytestconfig.getoption("native_python")))


def _trt_engine(config: pytest.Config) -> Path:
    engine: Path | None = config.getoption("tiled_trt_engine")
    if engine is None or not engine.is_file():
        pytest.skip("pass --tiled-trt-engine PATH: the TensorRT engine of the tiled app built on this Orin "
                    "(model_b8_gpu0_fp32.engine)")
    return engine


def _gliner2_model(config: pytest.Config) -> Path:
    chosen = config.getoption("gliner2_model")
    if chosen:
        return Path(chosen)
    pytest.importorskip("gliner2", reason="the tiny GLiNER2 model is built with the gliner2 extra; or pass "
                                          "--gliner2-model DIR")
    from conformance.builders.gliner2_model import ensure

    return ensure(work_dir() / "device" / "gliner2-tiny")


@pytest.fixture(scope="session")
def workload(recording: Recording | None, request: pytest.FixtureRequest,
             pytestconfig: pytest.Config) -> Callable[[str], Any]:
    """workload(name) -> the facts of one device workload: replayed, or run on this Orin once per session."""
    from conformance.config.probes import PROBES

    cache: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name in cache:
            return cache[name]
        if recording is not None:
            try:
                cache[name] = recording.facts(name, PROBES[name])
            except ConfigError as error:
                pytest.fail(str(error), pytrace=False)
            return cache[name]
        from conformance.device import live

        ctx = request.getfixturevalue("live_context")
        if name == "tiled":
            cache[name] = live.tiled_runs(ctx, _image_tag(request, "yolo-tiled"), _trt_engine(pytestconfig))
        elif name == "gliner2":
            cache[name] = live.gliner2_run(ctx, _image_tag(request, "gliner2"), _gliner2_model(pytestconfig))
        elif name == "soak":
            cache[name] = live.soak_run(ctx, _image_tag(request, "yolo-tiled"), _trt_engine(pytestconfig))
        elif name == "restarts":
            cache[name] = live.restarts_run(ctx, _image_tag(request, "gliner2"), _gliner2_model(pytestconfig),
                                            request.getfixturevalue("docker_cli"))
        elif name == "two-containers":
            cache[name] = live.two_containers_run(ctx, _image_tag(request, "yolo-tiled"),
                                                  _image_tag(request, "gliner2"), _trt_engine(pytestconfig),
                                                  _gliner2_model(pytestconfig))
        else:
            raise KeyError(f"unknown workload {name!r}; expected one of {', '.join(PROBES)}")
        return cache[name]

    return get

