"""The FastAPI app: ``uvicorn app.gliner2_service.main:app --loop asyncio --port 8012`` (seed 000)."""

from __future__ import annotations

import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional, Type

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .engine import InferenceEngine, ServiceStopping, Task
from .metrics import MetricsMiddleware, ServiceMetrics
from .model import LOG, LoadedModel, ModelLoadError, ModelManager
from .schemas import (ClassifyRequest, EntitiesRequest, HealthResponse, InferenceResponse,
                      JsonRequest, ReadyResponse, _Request)
from .settings import Settings

PATHS = frozenset({"/health", "/ready", "/metrics", "/v1/entities", "/v1/classify",
                   "/v1/extract_json", "/docs", "/openapi.json"})


class InputError(ValueError):
    """A request that is well-typed but outside the service's limits (answered with 422)."""


def _configure_logging() -> None:
    # uvicorn configures only its own loggers; give ours a handler so the device line is seen.
    if not LOG.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def _check_limits(settings: Settings, texts: List[str], labels: List[str], what: str) -> None:
    if not texts:
        raise InputError("text must be a non-empty string or a non-empty list of strings, but got []")
    if len(texts) > settings.max_texts:
        raise InputError(f"text must hold at most {settings.max_texts} texts (MAX_TEXTS), "
                         f"but got {len(texts)}")
    for i, text in enumerate(texts):
        if not text.strip():
            raise InputError(f"text[{i}] must be a non-empty string, but got {text!r}")
        if len(text) > settings.max_text_chars:
            raise InputError(f"text[{i}] must be at most {settings.max_text_chars} characters "
                             f"(MAX_TEXT_CHARS), but got {len(text)}")
    if not labels:
        raise InputError(f"{what} must not be empty")
    if len(labels) > settings.max_labels:
        raise InputError(f"{what} must hold at most {settings.max_labels} entries (MAX_LABELS), "
                         f"but got {len(labels)}")
    for label in labels:
        if not label.strip():
            raise InputError(f"{what} must be non-empty strings, but got {label!r}")


def create_app(settings: Optional[Settings] = None,
               engine_class: Type[InferenceEngine] = InferenceEngine) -> FastAPI:
    """Build the app; ``engine_class`` is the seam the known-bad fixtures replace."""
    cfg = settings if settings is not None else Settings.from_env()
    metrics = ServiceMetrics()
    state: Dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _configure_logging()
        # The event loop and the inference thread share the GIL: a 1 ms switch interval (Python's
        # default is 5 ms) bounds how long /health waits for it while the model runs Python code.
        sys.setswitchinterval(cfg.gil_switch_ms / 1000.0)
        import torch

        # Leave one core to the event loop and HTTP: intra-op threads that take every core stall
        # at each parallel region whenever the loop (or a neighbour) holds one (TORCH_THREADS=0: auto).
        torch.set_num_threads(cfg.torch_threads or max(1, len(os.sched_getaffinity(0)) - 1))
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gliner2-infer")
        manager = ModelManager(cfg, executor)

        def on_loaded(loaded: LoadedModel) -> None:
            metrics.model_load_seconds.set(loaded.load_seconds)

        manager.on_loaded = on_loaded
        engine = engine_class(cfg, manager, executor, metrics)
        state.update(manager=manager, engine=engine)
        await engine.start()
        LOG.info("GLiNER2 service starting: model=%s preload=%d microbatch=%d",
                 cfg.model_source, int(cfg.preload), int(cfg.microbatch))
        if cfg.preload:
            try:
                await manager.get()
            except ModelLoadError:
                pass  # logged by the manager; /ready and inference answer 503 with the reason
        try:
            yield
        finally:
            # uvicorn has already drained in-flight requests after SIGTERM; now stop the worker.
            await engine.stop()
            executor.shutdown(wait=True, cancel_futures=True)
            LOG.info("GLiNER2 service stopped")

    app = FastAPI(title="GLiNER2 service", version="1.0.0", lifespan=lifespan,
                  description="Entity extraction, classification and structured extraction "
                              "with GLiNER2 (orin-conformance-kit).")
    app.add_middleware(MetricsMiddleware, metrics=metrics, known_paths=PATHS)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(status_code=400, content={
                "detail": "request body is not valid JSON; expected a JSON object"})
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
                 f"{e.get('msg')}" for e in errors]
        return JSONResponse(status_code=422, content={"detail": "; ".join(parts)})

    @app.exception_handler(InputError)
    async def on_input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(ModelLoadError)
    async def on_load_error(request: Request, exc: ModelLoadError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"model not available: {exc}"})

    @app.exception_handler(ServiceStopping)
    async def on_stopping(request: Request, exc: ServiceStopping) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.get("/health", response_model=HealthResponse)
    async def health() -> Dict[str, str]:
        """Liveness: answers from the event loop and never touches the model."""
        return {"status": "ok"}

    @app.get("/ready", response_model=ReadyResponse,
             responses={503: {"model": ReadyResponse}})
    async def ready() -> Any:
        """Readiness: 200 once the model is loaded; 503 with the reason before (never loads)."""
        manager: ModelManager = state["manager"]
        loaded = manager.loaded
        if loaded is None:
            reason = manager.last_error or "model not loaded yet (MODEL_PRELOAD=0 loads on first request)"
            return JSONResponse(status_code=503, content={"ready": False, "reason": reason})
        return {"ready": True, "device": loaded.device_label, "model": loaded.source,
                "load_seconds": loaded.load_seconds}

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def run(body: _Request, task: Task, keys: List[str], what: str) -> JSONResponse:
        texts = body.texts()
        _check_limits(cfg, texts, keys, what)
        engine: InferenceEngine = state["engine"]
        results = await engine.submit(texts, task, body.threshold)
        loaded = state["manager"].loaded
        # A Response skips FastAPI's re-validation of the body (response_model still documents it):
        # the shape is fixed by Task.normalize, and re-validating costs on every request.
        return JSONResponse({"model": loaded.source, "device": loaded.device_label,
                             "results": results})

    @app.post("/v1/entities", response_model=InferenceResponse)
    async def entities(body: EntitiesRequest) -> JSONResponse:
        """Entities per text: ``{"entities": {label: [span text, ...]}}`` for every label."""
        return await run(body, Task("entities", tuple(body.labels)), body.labels, "labels")

    @app.post("/v1/classify", response_model=InferenceResponse)
    async def classify(body: ClassifyRequest) -> JSONResponse:
        """Labels per text: ``{"classification": {task: label or [labels]}}``."""
        for name, labels in body.tasks.items():
            _check_limits(cfg, body.texts(), labels, f"tasks[{name!r}]")
        return await run(body, Task("classify", tuple((k, tuple(v)) for k, v in body.tasks.items())),
                         list(body.tasks), "tasks")

    @app.post("/v1/extract_json", response_model=InferenceResponse)
    async def extract_json(body: JsonRequest) -> JSONResponse:
        """Records per text: ``{"structures": {name: [{field: value}, ...]}}``."""
        for name, fields in body.structures.items():
            _check_limits(cfg, body.texts(), fields, f"structures[{name!r}]")
        return await run(body, Task("json", tuple((k, tuple(v)) for k, v in body.structures.items())),
                         list(body.structures), "structures")

    return app


#: The ASGI app uvicorn serves; building it reads the environment, it loads nothing.
app = create_app()
