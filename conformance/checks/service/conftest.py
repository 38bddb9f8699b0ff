"""Fixtures of the GLiNER2 service checks: the service under test (local or `--gliner2-url`) and its data."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Mapping

import pytest

from conformance.config.service import (CrashSignature, ServiceCriteria, load_crash_signatures,
                                        load_service_criteria)
from conformance.service.local import (LocalService, ServiceUnderTest, bench_model, default_model,
                                       start_service)


@pytest.fixture(scope="session")
def gliner2_tiny_model(pytestconfig: pytest.Config) -> Path:
    """The offline tiny model, built if missing (the same step as ``make gliner2-tiny-model``)."""
    chosen = pytestconfig.getoption("--gliner2-model")
    if chosen:
        return Path(str(chosen))
    pytest.importorskip("gliner2", reason="building the tiny GLiNER2 model needs the gliner2 extra")
    from conformance.builders.gliner2_model import ensure

    return ensure(default_model())


@pytest.fixture(scope="session")
def gliner2_bench_model(pytestconfig: pytest.Config) -> Path:
    """The bench-size model (DeBERTa-v3-base's configuration), built if missing (``make gliner2-bench-model``)."""
    chosen = pytestconfig.getoption("--gliner2-bench-model")
    if chosen:
        return Path(str(chosen))
    pytest.importorskip("gliner2", reason="building the bench GLiNER2 model needs the gliner2 extra")
    from conformance.builders.gliner2_model import ensure

    return ensure(bench_model(), size="bench")


def _service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, url_option: str,
             name: str, env: Mapping[str, str], model_fixture: str) -> Iterator[ServiceUnderTest]:
    config = request.config
    url = config.getoption(url_option)
    log = config.getoption("--gliner2-log")
    if url:
        yield ServiceUnderTest(str(url).rstrip("/"), Path(str(log)) if log else None)
        return
    model = request.getfixturevalue(model_fixture)
    service = start_service(tmp_path_factory.mktemp(name), name, str(config.getoption("--gliner2-app")),
                            {"MODEL_PATH": str(model), "MODEL_PRELOAD": "0", **env})
    try:
        yield ServiceUnderTest(service.url, Path(str(log)) if log else service.log_path, service)
    finally:
        service.stop()


@pytest.fixture(scope="session")
def gliner2_service(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceUnderTest]:
    """The service under test (``--gliner2-url`` or a local one with micro-batching on, tiny model)."""
    yield from _service(request, tmp_path_factory, "--gliner2-url", "gliner2", {"MICROBATCH": "1"},
                        "gliner2_tiny_model")


@pytest.fixture(scope="session")
def gliner2_bench_service(request: pytest.FixtureRequest,
                          tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceUnderTest]:
    """The service whose throughput is measured (``--gliner2-url`` or local, bench-size model)."""
    yield from _service(request, tmp_path_factory, "--gliner2-url", "gliner2-bench", {"MICROBATCH": "1"},
                        "gliner2_bench_model")


@pytest.fixture(scope="session")
def gliner2_bench_peer(request: pytest.FixtureRequest,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceUnderTest]:
    """The one-at-a-time peer (``--gliner2-peer-url`` or a local MICROBATCH=0 one, bench-size model)."""
    yield from _service(request, tmp_path_factory, "--gliner2-peer-url", "gliner2-peer", {"MICROBATCH": "0"},
                        "gliner2_bench_model")


StartLocal = Callable[[str, Mapping[str, str]], LocalService]


@pytest.fixture
def start_local_gliner2(request: pytest.FixtureRequest, tmp_path: Path,
                        gliner2_tiny_model: Path) -> Iterator[StartLocal]:
    """Start a fresh local service of ``--gliner2-app`` (for checks that stop it); stopped afterwards."""
    started: list[LocalService] = []

    def start(name: str, env: Mapping[str, str]) -> LocalService:
        service = start_service(tmp_path, name, str(request.config.getoption("--gliner2-app")),
                                {"MODEL_PATH": str(gliner2_tiny_model), **env})
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop(timeout_s=5.0)


@pytest.fixture(scope="session")
def gliner2_criteria() -> ServiceCriteria:
    """Workloads and criteria of the gliner2 checks (fixtures/gliner2/criteria.yaml)."""
    return load_service_criteria()


@pytest.fixture(scope="session")
def crash_signatures() -> tuple[CrashSignature, ...]:
    """Log lines that mean a native crash (the `crash` entries of fixtures/diagnoses.yaml)."""
    return load_crash_signatures()
