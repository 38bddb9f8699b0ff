"""Prometheus metrics of one app instance (own registry, so several apps can live in one process)."""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, MutableMapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServiceMetrics:
    """Requests, latency, model load time, queue depth, batch sizes, texts run/cancelled, process memory."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gliner2_requests", "HTTP requests by path and status", ["path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gliner2_request_latency_seconds", "HTTP request latency by path", ["path"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.model_load_seconds = Gauge(
            "gliner2_model_load_seconds", "Seconds the model took to load (0 until loaded)",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "gliner2_queue_depth", "Texts waiting for the model", registry=self.registry,
        )
        self.batch_size = Histogram(
            "gliner2_batch_size", "Texts per model call", buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.texts_inferred = Counter(
            "gliner2_texts_inferred", "Texts the model computed an answer for", registry=self.registry,
        )
        self.texts_cancelled = Counter(
            "gliner2_texts_cancelled", "Texts dropped before the model ran them: their client went away",
            registry=self.registry,
        )
        self.texts_aborted = Counter(
            "gliner2_texts_aborted", "Texts whose model call was stopped part-way (client gone, shutdown)",
            registry=self.registry,
        )
        # process_resident_memory_bytes and friends: the memory check reads them over HTTP.
        ProcessCollector(registry=self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, known_paths: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        # Unknown paths share one label so that a scan of random URLs cannot grow the series.
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = str(scope.get("path", ""))
            path = path if path in self.known_paths else "other"
            self.metrics.requests.labels(path, str(status["code"])).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)
