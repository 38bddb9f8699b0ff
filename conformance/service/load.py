"""Load generation against the service under test: closed-loop clients over HTTP (httpx), /health probes,
clients that go away, and the service's own counters read from /metrics."""

from __future__ import annotations

import asyncio
import json
import shlex
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    """One response as the load generator saw it (``sent``/``answered``: perf_counter seconds)."""

    path: str
    status: int
    body: Any
    seconds: float
    sent: float = 0.0
    answered: float = 0.0


async def _closed_loop(url: str, requests: Sequence[tuple[str, Any]], clients: int,
                       timeout_s: float) -> List[Answer]:
    """``clients`` workers each send their share of ``requests`` back to back."""
    import httpx

    answers: List[Answer] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits) as client:
        async def worker(share: Sequence[tuple[str, Any]]) -> None:
            for path, payload in share:
                start = time.perf_counter()
                resp = await client.post(path, json=payload)
                try:
                    body: Any = resp.json()
                except ValueError:
                    body = resp.text
                end = time.perf_counter()
                answers.append(Answer(path, resp.status_code, body, end - start, start, end))

        await asyncio.gather(*(worker(requests[i::clients]) for i in range(clients)))
    return answers


def send_concurrently(url: str, requests: Sequence[tuple[str, Any]], clients: int,
                      timeout_s: float = 120.0) -> tuple[List[Answer], float]:
    """Send ``requests`` over ``clients`` concurrent connections; returns answers and wall seconds."""
    start = time.perf_counter()
    answers = asyncio.run(_closed_loop(url, requests, clients, timeout_s))
    return answers, time.perf_counter() - start


async def _for_a_while(url: str, path: str, payloads: Sequence[Any], clients: int, seconds: float,
                       timeout_s: float) -> tuple[int, List[int], float]:
    import httpx

    statuses: List[int] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits) as client:
        start = time.perf_counter()
        end = start + seconds

        async def worker(offset: int) -> None:
            i = offset
            while time.perf_counter() < end:
                statuses.append((await client.post(path, json=payloads[i % len(payloads)])).status_code)
                i += clients

        await asyncio.gather(*(worker(c) for c in range(clients)))
        wall = time.perf_counter() - start
    return len(statuses), statuses, wall


def requests_per_second(url: str, path: str, payloads: Sequence[Any], clients: int, seconds: float,
                        timeout_s: float = 120.0) -> tuple[float, List[int]]:
    """Closed loop for ``seconds`` (each client finishes its request in flight): req/s and statuses."""
    count, statuses, wall = asyncio.run(_for_a_while(url, path, payloads, clients, seconds, timeout_s))
    return count / wall, statuses


@dataclass
class HealthProber:
    """Sends GET /health back to back on its own thread; each probe: (sent, answered, status)."""

    url: str
    interval_s: float = 0.0
    probes: List[tuple[float, float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: Optional[threading.Thread] = None

    def __enter__(self) -> "HealthProber":
        self._thread = threading.Thread(target=self._run, daemon=True, name="health-prober")
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                sent = time.perf_counter()
                try:
                    status = client.get("/health").status_code
                except httpx.HTTPError:
                    status = 0
                self.probes.append((sent, time.perf_counter(), status))
                if self.interval_s:
                    self._stop.wait(self.interval_s)


def post_and_go_away(url: str, path: str, payload: Any, count: int, linger_s: float = 0.3) -> None:
    """Send ``count`` complete POSTs on their own connections, then close them all unread (clients that left)."""
    parts = urlsplit(url)
    body = json.dumps(payload).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    socks = [socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)
             for _ in range(count)]
    try:
        for sock in socks:
            sock.sendall(head + body)
        time.sleep(linger_s)  # let the server read every request before its client leaves
    finally:
        for sock in socks:
            sock.close()


def metric(url: str, name: str) -> Optional[float]:
    """The value of one sample of the service's /metrics (summed over labels); None when absent."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(url + "/metrics", timeout=30).text
    values = [s.value for fam in text_string_to_metric_families(text) for s in fam.samples if s.name == name]
    return float(sum(values)) if values else None


def probe_argv(python_cmd: Optional[str]) -> List[str]:
    """The interpreter command of the import probe (``--gliner2-python-cmd``, default this one)."""
    return shlex.split(python_cmd) if python_cmd else [sys.executable]


def expand(value: Any) -> Any:
    """Expand the generators of the request data files: {repeat: S, times: N} -> S*N, {labels: N} -> N labels."""
    if isinstance(value, dict) and set(value) == {"repeat", "times"}:
        return str(value["repeat"]) * int(value["times"])
    if isinstance(value, dict) and set(value) == {"labels"}:
        return [f"label{i}" for i in range(int(value["labels"]))]
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value
