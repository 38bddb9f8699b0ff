"""The FastAPI app: ``uvicorn app.gliner2_service.main:app --loop asyncio --port 8012`` (seed 000)."""

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional, Type

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .engine import InferenceEngine, ServiceStopping, Task
from .errors import validation_detail
from .guards import RequestGuard
from .metrics import MetricsMiddleware, ServiceMetrics
from .model import LOG, LoadedModel, ModelLoadError, ModelManager
from .prepare import RequestRefused
from .schemas import (ErrorResponse, HealthResponse, InferenceResponse, ReadyResponse, _Request,
                      request_models)
from .settings import Settings

INFERENCE_PATHS = frozenset({"/v1/entities", "/v1/classify", "/v1/extract_json"})
PATHS = INFERENCE_PATHS | {"/health", "/ready", "/metrics", "/docs", "/openapi.json"}


def _error(what: str) -> Dict[str, Any]:
    return {"model": ErrorResponse, "description": what}


#: What every inference endpoint may answer besides 200; every body is an ErrorResponse.
INFERENCE_ERRORS: Dict[int | str, Dict[str, Any]] = {
    400: _error("The body is not valid JSON"),
    413: _error("The body is over MAX_BODY_BYTES"),
    415: _error("The Content-Type is not application/json"),
    422: _error("A field is the wrong type or over a limit (characters, entries, the model's tokens)"),
    500: _error("The model failed on this request (a defect: the service's own checks expect none)"),
    503: _error("The model is not loaded (the reason is given) or the service is shutting down"),
}


def _configure_logging() -> None:
    # uvicorn configures only its own loggers; give ours a handler so the device line is seen.
    if not LOG.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def _chain_signals(engine: InferenceEngine) -> None:
    """Tell the engine at SIGTERM/SIGINT, then let the server's own handler run (uvicorn's drain)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(engine.begin_shutdown)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt

        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread (e.g. a test client): no signals to chain
            return


async def _until_disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def create_app(settings: Optional[Settings] = None,
               engine_class: Type[InferenceEngine] = InferenceEngine) -> FastAPI:
    """Build the app; ``engine_class`` is the seam the known-bad fixtures replace."""
    cfg = settings if settings is not None else Settings.from_env()
    metrics = ServiceMetrics()
    models = request_models(cfg)
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
        _chain_signals(engine)
        LOG.info("GLiNER2 service starting: model=%s preload=%d microbatch=%d shutdown_grace=%.1fs",
                 cfg.model_source, int(cfg.preload), int(cfg.microbatch), cfg.shutdown_grace_s)
        if cfg.preload:
            try:
                await manager.get()
            except ModelLoadError:
                pass  # logged by the manager; /ready and inference answer 503 with the reason
        try:
            yield
        finally:
            # uvicorn has drained in-flight requests (bounded by the engine's grace) after SIGTERM.
            await engine.stop()
            executor.shutdown(wait=False, cancel_futures=True)
            LOG.info("GLiNER2 service stopped")

    app = FastAPI(title="GLiNER2 service", version="1.1.0", lifespan=lifespan,
                  description="Entity extraction, classification and structured extraction with GLiNER2 "
                              "(orin-conformance-kit). Every refusal is a 4xx whose `detail` names the "
                              "field, the limit and what was found.")
    # The last added is outermost: metrics see the guard's 413/415 too.
    app.add_middleware(RequestGuard, paths=INFERENCE_PATHS, max_body_bytes=cfg.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics, known_paths=PATHS)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(status_code=400, content={
                "detail": "the body is not valid JSON; expected a JSON object"})
        return JSONResponse(status_code=422, content={"detail": validation_detail(errors)})

    @app.exception_handler(RequestRefused)
    async def on_refused(request: Request, exc: RequestRefused) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(ModelLoadError)
    async def on_load_error(request: Request, exc: ModelLoadError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"model not available: {exc}"})

    @app.exception_handler(ServiceStopping)
    async def on_stopping(request: Request, exc: ServiceStopping) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def on_failure(request: Request, exc: Exception) -> JSONResponse:
        # A defect, never an answer to bad input (those are 4xx): say so in the documented shape.
        return JSONResponse(status_code=500, content={
            "detail": f"inference failed: {type(exc).__name__}: {str(exc)[:200]}".replace("\n", " ")})

    @app.get("/health", response_model=HealthResponse)
    async def health() -> Dict[str, str]:
        """Liveness: answers from the event loop and never touches the model."""
        return {"status": "ok"}

    @app.get("/ready", response_model=ReadyResponse,
             responses={503: {"model": ReadyResponse, "description": "Not loaded yet, or failed (reason)"}})
    async def ready() -> Any:
        """Readiness: 200 once the model is loaded; 503 with the reason before (never loads)."""
        manager: ModelManager = state["manager"]
        loaded = manager.loaded
        if loaded is None:
            reason = manager.last_error or "model not loaded yet (MODEL_PRELOAD=0 loads on first request)"
            return JSONResponse(status_code=503, content={"ready": False, "reason": reason})
        return {"ready": True, "device": loaded.device_label, "model": loaded.source,
                "load_seconds": loaded.load_seconds}

    @app.get("/metrics", response_class=Response, responses={200: {
        "description": "Prometheus text exposition",
        "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}})
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def run(request: Request, body: _Request, task: Task, what: str) -> Response:
        engine: InferenceEngine = state["engine"]
        work = asyncio.ensure_future(engine.submit(body.texts(), task, body.threshold, what))
        gone = asyncio.ensure_future(_until_disconnected(request))
        try:
            await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not work.done():  # the client went away (or we are being cancelled): drop its work
                work.cancel()
            gone.cancel()
        if not work.done() or work.cancelled():
            return Response(status_code=499)  # nobody to answer (nginx's "client closed request")
        results = work.result()
        loaded = state["manager"].loaded
        # A Response skips FastAPI's re-validation of the body (response_model still documents it):
        # the shape is fixed by Task.normalize, and re-validating costs on every request.
        return JSONResponse({"model": loaded.source, "device": loaded.device_label, "results": results})

    @app.post("/v1/entities", response_model=InferenceResponse, responses=INFERENCE_ERRORS)
    async def entities(request: Request, body: models.entities) -> Response:  # type: ignore[name-defined]
        """Entities per text: ``{"entities": {label: [span text, ...]}}`` for every label."""
        return await run(request, body, Task("entities", tuple(body.labels)), "labels")

    @app.post("/v1/classify", response_model=InferenceResponse, responses=INFERENCE_ERRORS)
    async def classify(request: Request, body: models.classify) -> Response:  # type: ignore[name-defined]
        """Labels per text: ``{"classification": {task: label or [labels]}}``."""
        return await run(request, body,
                         Task("classify", tuple((k, tuple(v)) for k, v in body.tasks.items())), "tasks")

    @app.post("/v1/extract_json", response_model=InferenceResponse, responses=INFERENCE_ERRORS)
    async def extract_json(request: Request, body: models.json) -> Response:  # type: ignore[name-defined]
        """Records per text: ``{"structures": {name: [{field: value}, ...]}}``."""
        return await run(request, body,
                         Task("json", tuple((k, tuple(v)) for k, v in body.structures.items())), "structures")

    return app


#: The ASGI app uvicorn serves; building it reads the environment, it loads nothing.
app = create_app()
