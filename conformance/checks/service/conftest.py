"""Fixtures of the GLiNER2 service checks: the service under test (local or `--gliner2-url`) and its data."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping

import pytest

from conformance.config.service import CrashSignature, load_crash_signatures, load_service_criteria
from conformance.service.local import ServiceUnderTest, default_model, start_service


@pytest.fixture(scope="session")
def gliner2_tiny_model(pytestconfig: pytest.Config) -> Path:
    """The offline tiny model, built if missing (the same step as ``make gliner2-tiny-model``)."""
    chosen = pytestconfig.getoption("--gliner2-model")
    if chosen:
        return Path(str(chosen))
    pytest.importorskip("gliner2", reason="building the tiny GLiNER2 model needs the gliner2 extra")
    from conformance.builders.gliner2_model import ensure

    return ensure(default_model())


def _service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             url_option: str, name: str, env: Mapping[str, str]) -> Iterator[ServiceUnderTest]:
    config = request.config
    url = config.getoption(url_option)
    log = config.getoption("--gliner2-log")
    if url:
        yield ServiceUnderTest(str(url).rstrip("/"), Path(str(log)) if log else None)
        return
    model = request.getfixturevalue("gliner2_tiny_model")
    service = start_service(tmp_path_factory.mktemp(name), name, str(config.getoption("--gliner2-app")),
                            {"MODEL_PATH": str(model), "MODEL_PRELOAD": "0", **env})
    try:
        yield ServiceUnderTest(service.url, Path(str(log)) if log else service.log_path, service)
    finally:
        service.stop()


@pytest.fixture(scope="session")
def gliner2_service(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceUnderTest]:
    """The service under test (``--gliner2-url`` or a local one with micro-batching on)."""
    yield from _service(request, tmp_path_factory, "--gliner2-url", "gliner2", {"MICROBATCH": "1"})


@pytest.fixture(scope="session")
def gliner2_peer_service(request: pytest.FixtureRequest,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceUnderTest]:
    """The one-at-a-time peer (``--gliner2-peer-url`` or a local one with MICROBATCH=0)."""
    yield from _service(request, tmp_path_factory, "--gliner2-peer-url", "gliner2-peer",
                        {"MICROBATCH": "0"})


@pytest.fixture(scope="session")
def gliner2_criteria() -> Dict[str, Any]:
    """Workloads and criteria of the gliner2 checks (fixtures/gliner2/criteria.yaml)."""
    return load_service_criteria()


@pytest.fixture(scope="session")
def crash_signatures() -> tuple[CrashSignature, ...]:
    """Log lines that mean a native crash (fixtures/crash_signatures.yaml, REFERENCE.md)."""
    return load_crash_signatures()


