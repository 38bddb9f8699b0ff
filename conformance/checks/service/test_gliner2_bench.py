"""Throughput of the GLiNER2 service, micro-batched vs one at a time, and /health latency under load.

The named peer is the same service with MICROBATCH=0 (every request its own model call, serialized on
the inference thread), measured in the same test, rounds alternating, best of N. Workload:
fixtures/gliner2/criteria.yaml ``throughput`` (one short text, three labels, tiny model unless
``--gliner2-url``/``--gliner2-peer-url`` point elsewhere). The floor for 16 clients is the profile's
``microbatch_speedup_min`` (issue 5). ``make bench`` records the figures; ``make test`` runs each once.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List

import pytest

httpx = pytest.importorskip("httpx", reason="the gliner2 checks talk HTTP through httpx (extra: gliner2)")

from conformance.service.local import ServiceUnderTest
from conformance.config.service import load_bad_inputs, load_service_criteria
from conformance.service.load import send_concurrently

pytestmark = pytest.mark.benchmark
CLIENTS = load_service_criteria()["throughput"]["clients"]


def _requests_per_second(url: str, payload: Dict[str, Any], clients: int, per_client: int) -> float:
    answers, seconds = send_concurrently(url, [("/v1/entities", payload)] * (clients * per_client), clients)
    bad = [a for a in answers if a.status != 200]
    assert not bad, f"{len(bad)} benchmark requests to {url} failed, first: {bad[0].status} {bad[0].body}"
    return len(answers) / seconds


@pytest.mark.parametrize("clients", CLIENTS, ids=[f"{c}-clients" for c in CLIENTS])
def test_microbatching_multiplies_throughput(
        request: pytest.FixtureRequest, gliner2_criteria: Dict[str, Any], profile: Any,
        benchmark: Any, clients: int) -> None:
    if request.config.getoption("--gliner2-url") and not request.config.getoption("--gliner2-peer-url"):
        pytest.skip("--gliner2-url given without --gliner2-peer-url: no one-at-a-time peer of the same "
                    "service to compare with (start it with MICROBATCH=0)")
    batched: ServiceUnderTest = request.getfixturevalue("gliner2_service")
    peer: ServiceUnderTest = request.getfixturevalue("gliner2_peer_service")
    crit = gliner2_criteria["throughput"]
    payload, per_client = crit["payload"], int(crit["requests_per_client"])
    for svc in (batched, peer):  # load the model and warm both
        _requests_per_second(svc.url, payload, 4, 2)
    best = {"batched": 0.0, "peer": 0.0}
    for _ in range(int(crit["rounds"])):
        best["peer"] = max(best["peer"], _requests_per_second(peer.url, payload, clients, per_client))
        best["batched"] = max(best["batched"],
                              _requests_per_second(batched.url, payload, clients, per_client))
    rps: List[float] = []
    benchmark.pedantic(lambda: rps.append(_requests_per_second(batched.url, payload, clients, per_client)),
                       rounds=1, iterations=1)
    best["batched"] = max([best["batched"], *rps])
    ratio = best["batched"] / best["peer"]
    benchmark.extra_info.update({"clients": clients, "batched_rps": round(best["batched"], 1),
                                 "one_at_a_time_rps": round(best["peer"], 1), "ratio": round(ratio, 2),
                                 "workload": f"{len(payload['text'])}-char text, {len(payload['labels'])} labels"})
    floor = float(profile.thresholds.microbatch_speedup_min)
    if clients == int(crit["floor_clients"]):
        assert ratio >= floor, (
            f"with {clients} clients micro-batched served {best['batched']:.1f} req/s and one at a time "
            f"{best['peer']:.1f} req/s: {ratio:.2f}x; expected >= {floor:.1f}x (profile "
            f"microbatch_speedup_min). Fix: coalesce concurrent requests into one batch_extract call "
            f"(MICROBATCH=1) (issue 5)")


def test_health_latency_under_load(gliner2_service: ServiceUnderTest, gliner2_criteria: Dict[str, Any],
                                   profile: Any, benchmark: Any) -> None:
    crit = gliner2_criteria["health_under_load"]
    url = gliner2_service.url
    payload = {"text": " ".join([crit["long_text_sentence"]] * int(crit["long_text_repeats"])),
               "labels": crit["long_text_labels"]}
    assert httpx.post(url + "/v1/entities", json=payload, timeout=120).status_code == 200, "warm-up failed"
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while not stop.is_set():
                client.post("/v1/entities", json=payload)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            status = benchmark(lambda: client.get("/health").status_code)
    finally:
        stop.set()
        worker.join(timeout=150)
    benchmark.extra_info["workload"] = f"/health while {len(payload['text'])}-char inferences run"
    assert status == 200, f"/health answered {status} under load; expected 200 (issue 5)"
