"""A GLiNER2 service started locally for the checks: uvicorn on a free 127.0.0.1 port, stopped gracefully.

The checks are black-box over HTTP: `--gliner2-url` points them at any running service (a container, say);
without it a session fixture starts the real service here with the offline tiny model.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional

from conformance import FIXTURES_DIR, SOURCE_ROOT, work_dir

DEFAULT_APP = "app.gliner2_service.main:app"
GLINER2_FIXTURES = FIXTURES_DIR / "gliner2"


def default_model() -> Path:
    """Where the offline tiny model is built (`make gliner2-tiny-model`)."""
    return work_dir() / "models" / "gliner2-tiny"


def bench_model() -> Path:
    """Where the offline bench-size model is built (`make gliner2-bench-model`)."""
    return work_dir() / "models" / "gliner2-bench"


class ServiceStartError(RuntimeError):
    """The local service did not come up; the message carries the end of its log."""


@dataclass
class LocalService:
    """A uvicorn process serving the app on a free 127.0.0.1 port."""

    app: str
    env: Dict[str, str]
    log_path: Path
    app_dir: Path = SOURCE_ROOT
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
            [str(SOURCE_ROOT), str(GLINER2_FIXTURES), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        argv = [sys.executable, "-m", "uvicorn", self.app, "--loop", "asyncio", "--host",
                "127.0.0.1", "--port", str(self.port), "--app-dir", str(self.app_dir)]
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=str(SOURCE_ROOT))
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
