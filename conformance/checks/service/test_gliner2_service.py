"""The GLiNER2 service over HTTP: responsive under load, robust under concurrency, strict on input, clean logs.

Black-box: every check talks to ``gliner2_service.url`` (``--gliner2-url``, or the real service started
locally with the offline tiny model). Random weights give random labels, so answers are checked for
shape and type, never content.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Dict, List, Optional

import pytest

httpx = pytest.importorskip("httpx", reason="the gliner2 checks talk HTTP through httpx (extra: gliner2)")

from conformance.config.service import BadInput, CrashSignature, ServiceCriteria, load_bad_inputs
from conformance.service.local import ServiceUnderTest
from conformance.service.load import HealthProber, expand, send_concurrently

ISSUE = "issue 5"
BAD_INPUTS = load_bad_inputs()


def malformation(path: str, request: Dict[str, Any], status: int, body: Any) -> Optional[str]:
    """Why an answer is not well-formed for ``request`` on ``path``; None when it is."""
    if status != 200:
        return f"status {status}: {str(body)[:200]}"
    if not isinstance(body, dict) or not {"model", "device", "results"} <= set(body):
        return f"body is not an object with model, device, results: {str(body)[:200]}"
    texts = request["text"] if isinstance(request["text"], list) else [request["text"]]
    results = body["results"]
    if not isinstance(results, list) or len(results) != len(texts):
        return f"results must be a list of {len(texts)}, but got {str(results)[:200]}"
    for result in results:
        if path == "/v1/entities":
            ents = result.get("entities") if isinstance(result, dict) else None
            if not isinstance(ents, dict) or set(ents) != set(request["labels"]) or not all(
                    isinstance(v, list) and all(isinstance(s, str) for s in v) for v in ents.values()):
                return f"entities must map each label to a list of strings, but got {result}"
        elif path == "/v1/classify":
            cls = result.get("classification") if isinstance(result, dict) else None
            if not isinstance(cls, dict) or set(cls) != set(request["tasks"]):
                return f"classification must map each task to its label, but got {result}"
            for task, label in cls.items():
                chosen = label if isinstance(label, list) else [label]
                if not all(x in request["tasks"][task] for x in chosen if x is not None):
                    return f"classification of {task!r} names a label not asked for: {label!r}"
        elif path == "/v1/extract_json":
            recs = result.get("structures") if isinstance(result, dict) else None
            if not isinstance(recs, dict) or set(recs) != set(request["structures"]) or not all(
                    isinstance(v, list) and all(isinstance(r, dict) for r in v) for v in recs.values()):
                return f"structures must map each name to a list of records, but got {result}"
    return None


def test_health_answers_while_an_inference_is_in_flight(
        gliner2_service: ServiceUnderTest, gliner2_criteria: ServiceCriteria, record_property: Any) -> None:
    """/health answers while the model runs: counted in the middle of each long request's own duration,
    so the property holds or fails the same way on a fast machine and a loaded one (issue 10)."""
    crit = gliner2_criteria.health_in_flight
    url = gliner2_service.url
    warm = httpx.post(url + "/v1/entities", json={"text": "Apple", "labels": ["company"]}, timeout=120)
    assert warm.status_code == 200, f"warm-up request answered {warm.status_code}: {warm.text[:300]}"
    windows: List[tuple[float, float]] = []
    statuses: List[int] = []
    stop = threading.Event()

    def long_client() -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            while not stop.is_set():
                sent = time.perf_counter()
                statuses.append(client.post("/v1/entities", json=crit.long.payload()).status_code)
                windows.append((sent, time.perf_counter()))

    worker = threading.Thread(target=long_client, daemon=True)
    with HealthProber(url) as prober:
        worker.start()
        time.sleep(crit.duration_s)
        stop.set()
        worker.join(timeout=300)
    edge = (1.0 - crit.middle_fraction) / 2
    middles = [(a + edge * (b - a), b - edge * (b - a)) for a, b in windows]
    inside = [(sent, answered) for sent, answered, status in prober.probes if status == 200
              and any(lo <= answered <= hi for lo, hi in middles)]
    longest = max((b - a for a, b in windows), default=0.0)
    record_property("long_requests", len(windows))
    record_property("long_request_s_max", round(longest, 3))
    record_property("health_answers_in_flight", len(inside))
    assert len(windows) >= crit.min_long_requests and set(statuses) == {200}, (
        f"the load did not run: {len(windows)} long requests answered {sorted(set(statuses))}; expected >= "
        f"{crit.min_long_requests} answered 200 ({ISSUE})")
    assert len(inside) >= crit.min_answers, (
        f"/health answered {len(inside)} times in the middle {crit.middle_fraction:.0%} of {len(windows)} long "
        f"requests (longest {longest:.2f} s) while they were in flight; expected >= {crit.min_answers}: it waits "
        f"for inference. Fix: run the model off the event loop (asyncio.to_thread / an executor) "
        f"(seed 000 'Concurrency Notes', issue 10)")


def test_concurrent_mixed_requests_all_succeed(
        gliner2_service: ServiceUnderTest, gliner2_criteria: ServiceCriteria,
        record_property: Any) -> None:
    crit = gliner2_criteria.concurrent_mix
    mix = [{"path": m.path, "body": m.body} for m in gliner2_criteria.mix]
    requests = [(m["path"], m["body"]) for m in (mix[i % len(mix)] for i in range(crit.requests))]
    answers, seconds = send_concurrently(gliner2_service.url, requests, crit.clients)
    record_property("mix_seconds", round(seconds, 2))
    five_xx = [a for a in answers if a.status >= 500]
    assert not five_xx, (
        f"{len(five_xx)} of {len(answers)} concurrent requests got 5xx (first: {five_xx[0].status} "
        f"{str(five_xx[0].body)[:200]}); expected none. Fix: queue requests for the model instead of "
        f"failing when it is busy ({ISSUE})")
    bad = [(a.path, why) for a in answers
           if (why := malformation(a.path, _request_for(a.path, a.body, mix), a.status, a.body))]
    assert len(answers) == len(requests), f"sent {len(requests)} requests, got {len(answers)} answers"
    assert not bad, (f"{len(bad)} of {len(answers)} answers were malformed, first on {bad[0][0]}: "
                     f"{bad[0][1]}; expected every answer well-formed ({ISSUE})")


def _request_for(path: str, body: Any, mix: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The mix request an answer belongs to (paths with several mix entries: match on text count)."""
    candidates = [m["body"] for m in mix if m["path"] == path]
    if len(candidates) > 1 and isinstance(body, dict) and isinstance(body.get("results"), list):
        for c in candidates:
            n = len(c["text"]) if isinstance(c["text"], list) else 1
            if n == len(body["results"]):
                return dict(c)
    return dict(candidates[0])


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input_is_refused_with_4xx(gliner2_service: ServiceUnderTest, case: BadInput) -> None:
    content = str(case.raw).encode() if case.raw is not None else json.dumps(expand(case.body)).encode()
    resp = httpx.post(gliner2_service.url + case.path, content=content,
                      headers={"content-type": case.content_type}, timeout=120)
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    assert 400 <= resp.status_code < 500, (
        f"{case.id}: {case.path} answered {resp.status_code} ({resp.text[:160]!r}); expected {case.status} with a "
        f"one-line detail. Fix: validate the request before inference (issue 11)")
    assert isinstance(detail, str) and detail and "\n" not in detail, (
        f"{case.id}: answered {resp.status_code} with detail {detail!r}; expected a one-line string saying what "
        f"was wrong ({ISSUE})")
    missing = [word for word in case.detail if word not in detail]
    assert resp.status_code == case.status and not missing, (
        f"{case.id}: answered {resp.status_code} {detail[:300]!r}; expected {case.status} naming "
        f"{list(case.detail)} (the field, the limit, what was found; missing {missing}) (issue 11)")


def test_ready_reports_model_and_device_once_loaded(gliner2_service: ServiceUnderTest) -> None:
    warm = httpx.post(gliner2_service.url + "/v1/entities", json={"text": "Apple", "labels": ["company"]},
                      timeout=120)
    assert warm.status_code == 200, f"inference answered {warm.status_code}: {warm.text[:300]}"
    body = httpx.get(gliner2_service.url + "/ready", timeout=10).json()
    assert body.get("ready") is True and re.fullmatch(r"GPU \(.+\)|CPU", str(body.get("device"))), (
        f"/ready answered {body} after a successful inference; expected ready true and the device "
        f"('GPU (Orin)' on a Jetson, 'CPU' elsewhere) (seed 000, {ISSUE})")


def _deref(spec: Dict[str, Any], node: Any) -> Any:
    """Follow local $refs (#/components/schemas/X)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 10:
        target: Any = spec
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[part]
        node, seen = target, seen + 1
    return node


INFERENCE = ("/v1/entities", "/v1/classify", "/v1/extract_json")
ERRORS = ("400", "413", "415", "422", "503")


def openapi_problems(spec: Dict[str, Any]) -> List[str]:
    """What the schema fails to say about the service (issue 11: the OpenAPI schema is the truth)."""
    problems = [f"no path {p}" for p in ("/health", "/ready", "/metrics", *INFERENCE) if p not in spec["paths"]]
    for path in INFERENCE:
        post = spec["paths"].get(path, {}).get("post", {})
        for code in ERRORS:
            media = post.get("responses", {}).get(code, {}).get("content", {}).get("application/json", {})
            body = _deref(spec, media.get("schema", {}))
            if body.get("properties", {}).get("detail", {}).get("type") != "string":
                problems.append(f"POST {path} {code}: no error body with a string detail")
        request = _deref(spec, post.get("requestBody", {}).get("content", {}).get("application/json", {})
                         .get("schema", {}))
        text = json.dumps(request.get("properties", {}).get("text", {}))
        if '"maxLength"' not in text or '"maxItems"' not in text:
            problems.append(f"POST {path}: text states no maxLength/maxItems (MAX_TEXT_CHARS, MAX_TEXTS)")
    metrics = spec["paths"].get("/metrics", {}).get("get", {}).get("responses", {}).get("200", {})
    if "text/plain" not in metrics.get("content", {}):
        problems.append(f"GET /metrics 200 documents {sorted(metrics.get('content', {}))}, not text/plain")
    return problems


def test_openapi_and_metrics_describe_the_service(gliner2_service: ServiceUnderTest) -> None:
    url = gliner2_service.url
    spec = httpx.get(url + "/openapi.json", timeout=10).json()
    problems = openapi_problems(spec)
    wrong_type = httpx.post(url + "/v1/entities", content=b'{"text": "Apple", "labels": ["company"]}',
                            headers={"content-type": "text/plain"}, timeout=60)
    if wrong_type.status_code != 415:
        problems.append(f"a text/plain body answered {wrong_type.status_code}, not 415")
    metrics = httpx.get(url + "/metrics", timeout=10)
    if not metrics.headers.get("content-type", "").startswith("text/plain"):
        problems.append(f"/metrics answered content-type {metrics.headers.get('content-type')!r}")
    series = ["gliner2_requests_total", "gliner2_request_latency_seconds", "gliner2_model_load_seconds",
              "gliner2_queue_depth", "gliner2_texts_inferred_total", "gliner2_texts_cancelled_total",
              "process_resident_memory_bytes"]
    problems += [f"/metrics lacks {name}" for name in series if name not in metrics.text]
    assert not problems, (
        f"the OpenAPI schema and /metrics do not describe the service: {'; '.join(problems)}; expected every "
        f"endpoint, 400/413/415/422/503 with their error body, the limits, /metrics as text/plain. Fix: declare "
        f"responses= and Field limits on the routes (issue 11)")


def test_logs_show_the_device_and_no_crash_signature(
        gliner2_service: ServiceUnderTest, crash_signatures: tuple[CrashSignature, ...], device: Any) -> None:
    if gliner2_service.log_path is None:
        pytest.skip("no log source for a service given by --gliner2-url; pass --gliner2-log FILE")
    # Traffic first: seed 000's crash came after inference.
    for m in ({"text": "Apple in Paris", "labels": ["company"]},):
        httpx.post(gliner2_service.url + "/v1/entities", json=m, timeout=120)
    time.sleep(0.5)
    log = gliner2_service.log_path.read_text(errors="replace")
    for sig in crash_signatures:
        hit = next((line for line in log.splitlines() if re.search(sig.pattern, line)), None)
        assert hit is None, (
            f"the service log has crash signature {sig.id}: {hit.strip()!r} ({sig.meaning}); "
            f"expected none. Source: {sig.source}")
    expected = r"GLiNER2 loaded on GPU \(Orin\)" if getattr(device, "is_jetson", False) \
        else r"GLiNER2 loaded on (GPU \(.+\)|CPU)"
    assert re.search(expected, log), (
        f"the service log has no line matching {expected!r}; expected the seed's device line once the "
        f"model loaded (seed 000 'Known Working Signals', {ISSUE})")
