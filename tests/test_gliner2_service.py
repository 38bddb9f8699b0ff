"""Unit tests of the GLiNER2 service: settings, model loading, micro-batching, endpoints, shutdown."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest
from pydantic import ValidationError
from fastapi.testclient import TestClient

from app.gliner2_service.engine import InferenceEngine, Task
from app.gliner2_service.errors import validation_detail
from app.gliner2_service.main import create_app
from app.gliner2_service.metrics import ServiceMetrics
from app.gliner2_service.model import ModelLoadError, ModelManager, describe_device
from app.gliner2_service.prepare import Prepared, token_limit
from app.gliner2_service.schemas import request_models
from app.gliner2_service.settings import Settings, SettingsError
from conformance.builders.gliner2_model import ensure

from conformance.service.load import metric
from conformance.service.local import default_model, start_service


@pytest.fixture(scope="module")
def tiny_model() -> Path:
    return ensure(default_model())


@pytest.fixture(scope="module")
def client(tiny_model: Path) -> Iterator[TestClient]:
    app = create_app(Settings(model_path=str(tiny_model)))
    with TestClient(app) as c:
        yield c


def test_settings_read_the_environment() -> None:
    s = Settings.from_env({"MODEL_PATH": "/m", "MODEL_PRELOAD": "1", "MICROBATCH": "0",
                           "MAX_TEXT_CHARS": "50"})
    assert (s.model_source, s.preload, s.microbatch, s.max_text_chars) == ("/m", True, False, 50), \
        f"settings did not follow the environment: {s}"


@pytest.mark.parametrize(("env", "message"), [
    ({"MODEL_PRELOAD": "maybe"}, "MODEL_PRELOAD must be 0 or 1, but got 'maybe'"),
    ({"MAX_LABELS": "0"}, "MAX_LABELS must be an integer >= 1, but got 0"),
    ({"GLINER2_DEVICE": "tpu"}, "GLINER2_DEVICE must be auto, cpu or cuda, but got 'tpu'"),
], ids=["preload-word", "labels-zero", "device-unknown"])
def test_bad_settings_raise_a_named_error(env: Dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert str(info.value) == message, f"got {info.value!r}, expected {message!r}"


def test_device_line_names_the_orin_the_seed_way(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_text("NVIDIA Jetson Orin NX Engineering Reference Developer Kit\x00")
    assert describe_device("cuda", model) == "GPU (Orin)", "an Orin board must log 'GPU (Orin)' (seed 000)"
    assert describe_device("cpu", model) == "CPU", "a CPU run must log 'CPU'"


def test_concurrent_first_requests_load_the_model_once() -> None:
    calls: List[str] = []

    def loader(source: str, device: str) -> Any:
        calls.append(source)
        time.sleep(0.2)
        return object()

    async def scenario() -> None:
        manager = ModelManager(Settings(model_id="x", device="cpu"), ThreadPoolExecutor(1), loader)
        loaded = await asyncio.gather(*(manager.get() for _ in range(8)))
        assert len({id(x) for x in loaded}) == 1, "every caller must get the same loaded model"

    asyncio.run(scenario())
    assert calls == ["x"], f"the model was loaded {len(calls)} times by 8 concurrent first requests"


def test_unknown_model_path_is_a_503_with_the_reason(tmp_path: Path) -> None:
    app = create_app(Settings(model_path=str(tmp_path / "nope")))
    with TestClient(app) as c:
        resp = c.post("/v1/entities", json={"text": "Apple", "labels": ["company"]})
        ready = c.get("/ready")
    assert resp.status_code == 503 and "is not a directory" in resp.json()["detail"], \
        f"an unknown MODEL_PATH answered {resp.status_code} {resp.text}; expected 503 with the reason"
    assert ready.status_code == 503 and "is not a directory" in ready.json()["reason"], \
        f"/ready answered {ready.status_code} {ready.text}; expected 503 with the load error"


class _CountingModel:
    """Stands in for GLiNER2 in the batching test: records batch sizes, echoes each text."""

    def __init__(self, fail_on: str = "") -> None:
        self.batches: List[int] = []
        self.lengths: List[List[int]] = []
        self.fail_on = fail_on

    def create_schema(self) -> "_CountingModel":
        return self

    def entities(self, labels: List[str]) -> List[str]:
        return labels

    def batch_extract(self, texts: List[str], schemas: List[Any], batch_size: int,
                      threshold: float) -> List[Dict[str, Any]]:
        self.batches.append(len(texts))
        self.lengths.append([len(t) for t in texts])
        if self.fail_on and self.fail_on in texts:
            raise RuntimeError("the model cannot take " + self.fail_on)
        time.sleep(0.05)
        return [{"entities": {"t": [t]}} for t in texts]


def _prepare(model: Any, texts: List[str], task: Task, settings: Settings, what: str) -> Prepared:
    return Prepared(tuple(texts), task, task.schema(model), tuple(len(t) for t in texts))


def _engine_run(model: _CountingModel, texts: List[str], **settings: Any) -> List[Any]:
    """Submit one request per text concurrently; each result or the exception it raised."""

    async def scenario() -> List[Any]:
        executor = ThreadPoolExecutor(1)
        cfg = Settings(model_id="x", device="cpu", **{"microbatch_window_ms": 20, **settings})
        manager = ModelManager(cfg, executor, lambda s, d: model)
        engine = InferenceEngine(cfg, manager, executor, ServiceMetrics(), preparer=_prepare)
        await engine.start()
        await manager.get()
        try:
            return list(await asyncio.gather(*(engine.submit([t], Task("entities", ("t",)), 0.5) for t in texts),
                                             return_exceptions=True))
        finally:
            await engine.stop()

    return asyncio.run(scenario())


def test_microbatching_coalesces_concurrent_requests_in_order() -> None:
    model = _CountingModel()
    results = _engine_run(model, [f"text{i}" for i in range(12)])
    assert [r[0]["entities"]["t"] for r in results] == [[f"text{i}"] for i in range(12)], \
        "each request must get the answer for its own text"
    assert sum(model.batches) == 12 and len(model.batches) <= 3, \
        f"12 concurrent requests ran as batches {model.batches}; expected a few coalesced calls"


def test_closed_loop_clients_stay_in_one_batch_call_after_call() -> None:
    """Clients answered by one call come back a few milliseconds after it, one by one. The batcher must wait
    for them (they were in flight when the call ended), not start the next call with the first one back:
    that splits the clients into groups that alternate for good (1 + 7 texts here, every time)."""
    model = _CountingModel()

    async def scenario() -> None:
        executor = ThreadPoolExecutor(1)
        cfg = Settings(model_id="x", device="cpu", microbatch_window_ms=20)
        manager = ModelManager(cfg, executor, lambda s, d: model)
        engine = InferenceEngine(cfg, manager, executor, ServiceMetrics(), preparer=_prepare)
        await engine.start()
        await manager.get()

        async def client(n: int) -> None:
            for k in range(4):
                await engine.submit([f"client{n}-{k}"], Task("entities", ("t",)), 0.5)
                await asyncio.sleep(0.002 * (n + 1))  # the answer's way back and the next request's way in

        try:
            await asyncio.gather(*(client(n) for n in range(8)))
        finally:
            await engine.stop()

    asyncio.run(scenario())
    assert model.batches == [8, 8, 8, 8], (
        f"8 closed-loop clients x 4 requests ran as calls of {model.batches}; expected 4 calls of all 8 clients")


def test_a_failing_request_in_a_batch_fails_only_itself() -> None:
    model = _CountingModel(fail_on="text3")
    results = _engine_run(model, [f"text{i}" for i in range(8)])
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [3], f"requests {failed} failed; expected only request 3, whose text the model cannot take"
    assert all(results[i][0]["entities"]["t"] == [f"text{i}"] for i in range(8) if i != 3), \
        f"the other requests must get their own answers: {results}"


def test_model_calls_are_cut_by_padded_tokens() -> None:
    # Texts of 10 and 1000 "tokens" (their lengths here): 600 padded tokens per call keeps long ones apart.
    model = _CountingModel()
    texts = ["s" * 10] * 6 + ["l" * 1000] * 2
    _engine_run(model, texts, microbatch_max_tokens=600)
    over = [call for call in model.lengths if len(call) > 1 and len(call) * max(call) > 600]
    assert sum(model.batches) == 8 and not over and [1000] in model.lengths, \
        f"8 texts ran as calls of lengths {model.lengths}; expected none over 600 padded tokens but a lone long one"


def test_without_microbatching_each_request_is_its_own_call() -> None:
    model = _CountingModel()
    _engine_run(model, [f"text{i}" for i in range(5)], microbatch=False)
    assert model.batches == [1] * 5, f"MICROBATCH=0 ran calls of {model.batches}; expected one per request"


@pytest.mark.parametrize(("body", "expected"), [
    ({"text": "x" * 11, "labels": ["a"]}, "text must be at most 10 characters (MAX_TEXT_CHARS), but got 11"),
    ({"text": ["x", "y", "z"], "labels": ["a"]}, "text must hold at most 2 entries (MAX_TEXTS), but got 3"),
    ({"text": "ok", "labels": ["abcdef"]}, "labels[0] must be at most 5 characters (MAX_LABEL_CHARS), but got 6"),
    ({"text": 42, "labels": ["a"]}, "text must be a string, but got an integer 42"),
    ({"text": "  ", "labels": ["a"]}, "text must contain a non-space character, but got '  '"),
], ids=["chars", "texts", "label-chars", "type", "blank"])
def test_refusals_name_the_field_the_limit_and_what_was_found(body: Dict[str, Any], expected: str) -> None:
    models = request_models(Settings(max_text_chars=10, max_texts=2, max_label_chars=5))
    with pytest.raises(ValidationError) as info:
        models.entities.model_validate(body)
    assert validation_detail(info.value.errors()) == expected, f"got {validation_detail(info.value.errors())!r}"


def test_token_limit_follows_absolute_positions_only() -> None:
    class Config:
        def __init__(self, kind: str) -> None:
            self.max_position_embeddings = 512
            self.position_embedding_type = kind

    class Model:
        def __init__(self, kind: str) -> None:
            self.encoder = type("E", (), {"config": Config(kind)})()

    assert token_limit(Model("absolute"), Settings()) == 512, "BERT's absolute positions cap a text's tokens"
    assert token_limit(Model("relative_key"), Settings(max_tokens=2048)) == 2048, \
        "a relative-position encoder is capped by MAX_TOKENS only"


def test_endpoints_answer_with_well_formed_results(client: TestClient) -> None:
    ready = client.get("/ready")
    assert ready.status_code == 503, f"/ready before any request: {ready.status_code}; MODEL_PRELOAD=0 loads lazily"
    ents = client.post("/v1/entities", json={"text": ["Apple in Paris", "Obama"], "labels": ["company", "city"]})
    assert ents.status_code == 200, f"entities answered {ents.status_code}: {ents.text}"
    body = ents.json()
    assert len(body["results"]) == 2 and all(set(r["entities"]) == {"company", "city"}
                                             for r in body["results"]), f"entities answer malformed: {body}"
    cls = client.post("/v1/classify", json={"text": "Happy", "tasks": {"sentiment": ["positive", "negative"]}})
    label = cls.json()["results"][0]["classification"]["sentiment"]
    assert label in ("positive", "negative"), f"classification answered {cls.text}"
    js = client.post("/v1/extract_json", json={"text": "Tim Cook, 999 dollars",
                                                "structures": {"product": ["name::str", "price::str"]}})
    assert isinstance(js.json()["results"][0]["structures"]["product"], list), f"json answered {js.text}"
    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["device"] == "CPU", f"/ready after inference: {ready}"
    assert "gliner2_model_load_seconds" in client.get("/metrics").text, "/metrics lacks the load time"


def test_sigterm_finishes_in_flight_requests_then_exits(tmp_path: Path, tiny_model: Path) -> None:
    # Each model call padded to 1.5 s: the request is surely in the model at SIGTERM and ends in the grace.
    service = start_service(tmp_path, "sigterm", env={"MODEL_PATH": str(tiny_model), "INFERENCE_MIN_MS": "1500"})
    text = " ".join(["Apple released the new iPhone in California on Monday."] * 120)
    answers: List[int] = []
    try:
        httpx.post(service.url + "/v1/entities", json={"text": "Apple", "labels": ["company"]}, timeout=120)

        def long_request() -> None:
            answers.append(httpx.post(service.url + "/v1/entities",
                                      json={"text": text, "labels": ["company"]}, timeout=120).status_code)

        worker = threading.Thread(target=long_request)
        worker.start()
        deadline = time.monotonic() + 60
        while metric(service.url, "gliner2_batch_size_count") != 2.0 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the long request's model call started (the warm-up made the first)
        assert service.proc is not None
        service.proc.send_signal(signal.SIGTERM)
        worker.join(timeout=120)
        code = service.proc.wait(timeout=60)
    finally:
        service.stop()
    log = service.log_tail(5000)
    assert answers == [200], f"the in-flight request got {answers} after SIGTERM; expected 200. Log: {log}"
    # Recent uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit too.
    assert code in (0, -signal.SIGTERM) and "GLiNER2 service stopped" in log \
        and "Application shutdown complete" in log, (
            f"after SIGTERM the service exited {code}; expected 0 or -15 after 'GLiNER2 service stopped' "
            f"and 'Application shutdown complete'. Log: {log}")


@pytest.mark.parametrize("size", ["tiny", "bench"])
def test_each_model_size_is_recognised_by_its_own_encoder_config(size: str) -> None:
    from conformance.builders.gliner2_model import encoder_config, encoder_signature

    config = encoder_config(size, vocab_size=229).to_dict()
    differs = {k: (config.get(k), v) for k, v in encoder_signature(size).items() if config.get(k) != v}
    assert not differs, f"{size}: encoder config (found, signature) differ: {differs}; ensure() would rebuild forever"


def test_a_model_built_to_another_recipe_is_not_taken_as_built(tmp_path: Path) -> None:
    from conformance.builders.gliner2_model import is_built, main

    out = tmp_path / "model"
    assert main([str(out)]) == 0, "tiny model not built"
    assert is_built(out) and is_built(out, "tiny"), "a freshly built tiny model must count as built"
    assert not is_built(out, "bench"), ("a BERT of width 32 counted as the bench model (DeBERTa-v3-base's "
                                        "configuration): a stale bench model would never be rebuilt")
    (out / "encoder_config" / "config.json").write_text("{not json", encoding="utf-8")
    assert not is_built(out, "tiny"), "an unreadable encoder config counted as built"


def test_tiny_model_builder_is_idempotent(tmp_path: Path) -> None:
    from conformance.builders.gliner2_model import main

    out = tmp_path / "tiny"
    assert main([str(out)]) == 0 and (out / "model.safetensors").is_file(), "tiny model not built"
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert main([str(out)]) == 0, "a second build must succeed"
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp, "a second build must change nothing"
