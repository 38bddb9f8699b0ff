"""The GLiNER2 service over HTTP: responsive under load, robust under concurrency, strict on input, clean logs.

Black-box: every check talks to ``gliner2_service.url`` (``--gliner2-url``, or the real service started
locally with the offline tiny model). Random weights give random labels, so answers are checked for
shape and type, never content (REFERENCE.md).
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
from typing import Any, Dict, List, Optional

import pytest

httpx = pytest.importorskip("httpx", reason="the gliner2 checks talk HTTP through httpx (extra: gliner2)")

from conformance.config.service import CrashSignature, load_bad_inputs, load_service_criteria
from conformance.service.local import ServiceUnderTest
from conformance.service.load import send_concurrently

ISSUE = "issue 5"
BAD_INPUTS = load_bad_inputs()


def _expand(value: Any) -> Any:
    """Expand the generators of bad_inputs.yaml ({repeat, times} and {labels: N})."""
    if isinstance(value, dict) and set(value) == {"repeat", "times"}:
        return str(value["repeat"]) * int(value["times"])
    if isinstance(value, dict) and set(value) == {"labels"}:
        return [f"label{i}" for i in range(int(value["labels"]))]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


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


def test_health_stays_fast_while_long_inferences_run(
        gliner2_service: ServiceUnderTest, gliner2_criteria: Dict[str, Any], profile: Any,
        record_property: Any) -> None:
    crit = gliner2_criteria["health_under_load"]
    limit_ms = float(profile.thresholds.health_p99_ms_max)
    url = gliner2_service.url
    payload = {"text": " ".join([crit["long_text_sentence"]] * int(crit["long_text_repeats"])),
               "labels": crit["long_text_labels"]}
    # Load the model first: this check is about inference, not the first-request load.
    warm = httpx.post(url + "/v1/entities", json={"text": "Apple", "labels": ["company"]}, timeout=120)
    assert warm.status_code == 200, f"warm-up request answered {warm.status_code}: {warm.text[:300]}"
    stop = threading.Event()
    done: List[int] = []

    def long_client() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while not stop.is_set():
                done.append(client.post("/v1/entities", json=payload).status_code)

    workers = [threading.Thread(target=long_client, daemon=True)
               for _ in range(int(crit["long_requests_in_flight"]))]
    for w in workers:
        w.start()
    samples: List[float] = []
    try:
        time.sleep(0.3)  # let the first long inferences start
        with httpx.Client(base_url=url, timeout=30) as client:
            end = time.monotonic() + float(crit["duration_s"])
            while time.monotonic() < end:
                start = time.perf_counter()
                resp = client.get("/health")
                samples.append((time.perf_counter() - start) * 1000)
                assert resp.status_code == 200, f"/health answered {resp.status_code} under load"
                time.sleep(float(crit["health_interval_s"]))
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=150)
    p99 = statistics.quantiles(samples, n=100)[98] if len(samples) >= 2 else float("inf")
    record_property("health_p99_ms", round(p99, 2))
    record_property("health_samples", len(samples))
    record_property("long_inferences", len(done))
    assert len(done) >= int(crit["min_long_inferences"]) and set(done) == {200}, (
        f"the load did not run: {len(done)} long inferences with statuses {sorted(set(done))}; "
        f"expected >= {crit['min_long_inferences']} answered 200 ({ISSUE})")
    assert len(samples) >= int(crit["min_samples"]), (
        f"/health answered only {len(samples)} times in {crit['duration_s']} s, expected >= "
        f"{crit['min_samples']}: it is blocked behind inference. Fix: run the model off the event "
        f"loop (asyncio.to_thread / an executor) (seed 000 'Concurrency Notes', {ISSUE})")
    assert p99 <= limit_ms, (
        f"/health p99 was {p99:.1f} ms over {len(samples)} samples while long inferences ran; "
        f"expected <= {limit_ms:.0f} ms (profile health_p99_ms_max). Fix: run the model off the event "
        f"loop (asyncio.to_thread / an executor) (seed 000 'Concurrency Notes', {ISSUE})")


def test_concurrent_mixed_requests_all_succeed(
        gliner2_service: ServiceUnderTest, gliner2_criteria: Dict[str, Any],
        record_property: Any) -> None:
    crit = gliner2_criteria["concurrent_mix"]
    mix = gliner2_criteria["mix"]
    requests = [(m["path"], m["body"]) for m in (mix[i % len(mix)] for i in range(int(crit["requests"])))]
    answers, seconds = send_concurrently(gliner2_service.url, requests, int(crit["clients"]))
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


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c["id"] for c in BAD_INPUTS])
def test_bad_input_is_refused_with_4xx(gliner2_service: ServiceUnderTest, case: Dict[str, Any]) -> None:
    if "raw" in case:
        content = str(case["raw"]).encode()
    else:
        content = json.dumps(_expand(case["body"])).encode()
    resp = httpx.post(gliner2_service.url + case["path"], content=content,
                      headers={"content-type": "application/json"}, timeout=120)
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    assert 400 <= resp.status_code < 500, (
        f"{case['id']}: {case['path']} answered {resp.status_code} ({resp.text[:160]!r}); expected a "
        f"4xx with a one-line detail. Fix: validate the request before inference ({ISSUE})")
    assert isinstance(detail, str) and detail and "\n" not in detail, (
        f"{case['id']}: answered {resp.status_code} with detail {detail!r}; expected a one-line string "
        f"saying what was wrong ({ISSUE})")


def test_ready_reports_model_and_device_once_loaded(gliner2_service: ServiceUnderTest) -> None:
    warm = httpx.post(gliner2_service.url + "/v1/entities", json={"text": "Apple", "labels": ["company"]},
                      timeout=120)
    assert warm.status_code == 200, f"inference answered {warm.status_code}: {warm.text[:300]}"
    body = httpx.get(gliner2_service.url + "/ready", timeout=10).json()
    assert body.get("ready") is True and re.fullmatch(r"GPU \(.+\)|CPU", str(body.get("device"))), (
        f"/ready answered {body} after a successful inference; expected ready true and the device "
        f"('GPU (Orin)' on a Jetson, 'CPU' elsewhere) (seed 000, {ISSUE})")


def test_openapi_and_metrics_describe_the_service(gliner2_service: ServiceUnderTest) -> None:
    spec = httpx.get(gliner2_service.url + "/openapi.json", timeout=10).json()
    missing = {"/health", "/ready", "/v1/entities", "/v1/classify", "/v1/extract_json"} - set(spec["paths"])
    assert not missing, f"the OpenAPI schema lacks {sorted(missing)}; expected every endpoint ({ISSUE})"
    text = httpx.get(gliner2_service.url + "/metrics", timeout=10).text
    series = ["gliner2_requests_total", "gliner2_request_latency_seconds", "gliner2_model_load_seconds",
              "gliner2_queue_depth"]
    absent = [s for s in series if s not in text]
    assert not absent, f"/metrics lacks {absent}; expected requests, latency, load time, queue depth ({ISSUE})"


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
