"""Load generation against the service under test: closed-loop clients over HTTP (httpx)."""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence


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
