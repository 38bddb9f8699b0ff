"""Options and fixtures of the gliner2 checks (a sub-plugin loaded by conformance.plugin).

The checks are black-box over HTTP: ``--gliner2-url`` points them at a running service (a container,
say); without it a session fixture starts the real service locally with uvicorn and the offline tiny
model on a free 127.0.0.1 port, and stops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import pytest
import yaml

from conformance import FIXTURES_DIR, REPO_ROOT

DEFAULT_APP = "app.gliner2_service.main:app"
DEFAULT_MODEL = REPO_ROOT / "build" / "models" / "gliner2-tiny"
CRASH_SIGNATURES = FIXTURES_DIR / "crash_signatures.yaml"
GLINER2_FIXTURES = FIXTURES_DIR / "gliner2"


class ServiceStartError(RuntimeError):
    """The local service did not come up; the message carries the end of its log."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--gliner2-url", default=None,
                    help="URL of the GLiNER2 service under test (default: start it locally)")
    group.addoption("--gliner2-peer-url", default=None,
                    help="URL of the same service with MICROBATCH=0, the one-at-a-time peer of the "
                         "throughput benchmark (default: start it locally)")
    group.addoption("--gliner2-log", default=None,
                    help="file with the service's logs for the crash-signature check "
                         "(default: the local service's log)")
    group.addoption("--gliner2-app", default=DEFAULT_APP,
                    help="ASGI app (module:attr) the local service runs; known-bad variants live in "
                         "fixtures/gliner2/")
    group.addoption("--gliner2-model", default=str(DEFAULT_MODEL),
                    help="MODEL_PATH of the local service (default: the offline tiny model)")
    group.addoption("--gliner2-python-cmd", default=None,
                    help="command that runs the Python to probe for onnxruntime, e.g. "
                         "'docker exec CTR python3' (default: this interpreter)")
    group.addoption("--gliner2-pythonpath", default=None,
                    help="directories put first on PYTHONPATH of the import probe")


@dataclass
class LocalService:
    """A uvicorn process serving the app on a free 127.0.0.1 port."""

    app: str
    env: Dict[str, str]
    log_path: Path
    app_dir: Path = REPO_ROOT
    port: int = 0
    proc: Optional["subprocess.Popen[bytes]"] = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> "LocalService":
        import httpx  # the plugin loads this module everywhere; httpx is only needed here

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **self.env}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), str(GLINER2_FIXTURES), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        argv = [sys.executable, "-m", "uvicorn", self.app, "--loop", "asyncio", "--host",
                "127.0.0.1", "--port", str(self.port), "--app-dir", str(self.app_dir)]
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=str(REPO_ROOT))
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceStartError(f"{self.app} exited with {self.proc.returncode}: "
                                        f"{self.log_tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ServiceStartError(f"{self.app} gave no /health in {timeout_s:.0f} s: {self.log_tail()}")

    def stop(self, timeout_s: float = 20.0) -> Optional[int]:
        """SIGTERM (graceful), then SIGKILL if it hangs; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def start_service(tmp_dir: Path, name: str, app: str = DEFAULT_APP,
                  env: Optional[Mapping[str, str]] = None) -> LocalService:
    """Start a local service whose log goes to ``tmp_dir/name.log``."""
    return LocalService(app=app, env=dict(env or {}), log_path=tmp_dir / f"{name}.log").start()


@dataclass(frozen=True)
class ServiceUnderTest:
    """Where the checks send requests, and where its logs are (None when unknown)."""

    url: str
    log_path: Optional[Path]
    local: Optional[LocalService] = None


@pytest.fixture(scope="session")
def gliner2_tiny_model(pytestconfig: pytest.Config) -> Path:
    """The offline tiny model, built if missing (the same step as ``make gliner2-tiny-model``)."""
    path = Path(str(pytestconfig.getoption("--gliner2-model")))
    if path != DEFAULT_MODEL:
        return path
    from app.gliner2_service.tiny_model import ensure

    return ensure(path)


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
    return load_yaml(GLINER2_FIXTURES / "criteria.yaml")


@pytest.fixture(scope="session")
def crash_signatures() -> List[Dict[str, str]]:
    """Log lines that mean a native crash (fixtures/crash_signatures.yaml, REFERENCE.md)."""
    data = load_yaml(CRASH_SIGNATURES)
    return list(data["signatures"])


def load_yaml(path: Path) -> Dict[str, Any]:
    with path.open() as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping, but holds {type(data).__name__}")
    return data


# ---------------------------------------------------------------------------------------------
# Load generation (used by the checks and the benchmarks)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """One response as the load generator saw it."""

    path: str
    status: int
    body: Any
    seconds: float


async def _closed_loop(url: str, requests: Sequence[tuple[str, Dict[str, Any]]], clients: int,
                       timeout_s: float) -> List[Answer]:
    """``clients`` workers each send their share of ``requests`` back to back."""
    import httpx

    answers: List[Answer] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits) as client:
        async def worker(share: Sequence[tuple[str, Dict[str, Any]]]) -> None:
            for path, payload in share:
                start = time.perf_counter()
                resp = await client.post(path, json=payload)
                try:
                    body: Any = resp.json()
                except ValueError:
                    body = resp.text
                answers.append(Answer(path, resp.status_code, body, time.perf_counter() - start))

        await asyncio.gather(*(worker(requests[i::clients]) for i in range(clients)))
    return answers


def send_concurrently(url: str, requests: Sequence[tuple[str, Dict[str, Any]]], clients: int,
                      timeout_s: float = 120.0) -> tuple[List[Answer], float]:
    """Send ``requests`` over ``clients`` concurrent connections; returns answers and wall seconds."""
    start = time.perf_counter()
    answers = asyncio.run(_closed_loop(url, requests, clients, timeout_s))
    return answers, time.perf_counter() - start


def probe_argv(python_cmd: Optional[str]) -> List[str]:
    """The interpreter command of the import probe (``--gliner2-python-cmd``, default this one)."""
    return shlex.split(python_cmd) if python_cmd else [sys.executable]
