"""libnms_merger vs OpenCV ``cv2.dnn.NMSBoxesBatched`` vs the Python oracle on the issue-3 workloads.

One pytest-benchmark group per workload (so the ratio is read from one run), identical output asserted
before anything is timed. Workloads and targets: fixtures/nms/criteria.yaml; source: issue 3.
``make bench`` runs them for real; ``make test`` runs each once (``--benchmark-disable``), and the ratio
checks below always measure (best of a few runs, both peers in the same test).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the NMS scenes need hypothesis: pip install -e '.[nms]'")
pytest.importorskip("pytest_benchmark", reason="the NMS benchmarks need pytest-benchmark: pip install -e '.[nms]'")

from conformance.nms import oracle  # noqa: E402
from conformance.nms.scenes import Scene, make_scene, sahi_tile_offsets  # noqa: E402

pytestmark = pytest.mark.benchmark
PEERS = ("nms_cpp", "opencv", "oracle")


def build_workload(spec: dict[str, Any]) -> Scene:
    """The frame-coordinate boxes of one workload of criteria.yaml."""
    if "tiles" in spec:
        offsets = sahi_tile_offsets(1920, 1080)[: int(spec["tiles"])]
        parts = [make_scene("clustered", int(spec["per_tile"]), int(spec["seed"]) + t, int(spec["classes"]),
                            extent=640.0) for t in range(len(offsets))]
        boxes = np.concatenate([p.boxes + np.tile(offsets[t], 2) for t, p in enumerate(parts)]).astype(np.float32)
        return Scene(boxes, np.concatenate([p.scores for p in parts]), np.concatenate([p.class_ids for p in parts]))
    return make_scene(spec["kind"], int(spec["n"]), int(spec["seed"]), int(spec["classes"]))


def peer_call(peer: str, lib: Any, s: Scene, iou: float) -> Callable[[], np.ndarray]:
    """A no-argument call of one peer on prepared inputs (input conversion happens here, untimed)."""
    if peer == "nms_cpp":
        return lambda: lib.nms(s.boxes, s.scores, s.class_ids, iou)
    if peer == "opencv":
        import cv2

        batched: Any = cv2.dnn.NMSBoxesBatched  # its stubs want sequences; numpy arrays work the same
        xywh = np.concatenate([s.boxes[:, :2], s.boxes[:, 2:] - s.boxes[:, :2]], axis=1).astype(np.float64)
        # score_threshold 0: OpenCV keeps score > 0, as the contract's default; same IoU rule (> thr).
        return lambda: np.asarray(batched(xywh, s.scores, s.class_ids, 0.0, iou)).ravel()
    return lambda: oracle.nms(s.boxes, s.scores, s.class_ids, iou)


def write_figures(reports_dir: Path, name: str, figures: dict[str, Any]) -> None:
    """reports/benchmarks/nms_<name>.json (temp file then rename: never half-written)."""
    out = reports_dir / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".nms_{name}.json.tmp"
    tmp.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), **figures}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / f"nms_{name}.json")


def best_of(call: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return min(times)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from conformance.config.nms import load_nms_criteria as load_criteria

    workloads = load_criteria()["workloads"]
    if "peer" in metafunc.fixturenames:
        pairs = [(w, p) for w in workloads for p in PEERS]
        metafunc.parametrize("workload,peer", pairs, ids=[f"{w}-{p}" for w, p in pairs])
    elif "workload" in metafunc.fixturenames:
        metafunc.parametrize("workload", list(workloads), ids=list(workloads))


@pytest.fixture(scope="module")
def scenes(nms_criteria: dict[str, Any]) -> dict[str, Scene]:
    return {name: build_workload(spec) for name, spec in nms_criteria["workloads"].items()}


def test_nms_workload(benchmark: Any, nms_lib: Any, nms_criteria: dict[str, Any], scenes: dict[str, Scene],
                      workload: str, peer: str) -> None:
    spec = nms_criteria["workloads"][workload]
    s, iou = scenes[workload], float(spec["iou"])
    call = peer_call(peer, nms_lib, s, iou)
    reference = nms_lib.nms(s.boxes, s.scores, s.class_ids, iou)
    got = call()
    assert np.array_equal(got, reference), (
        f"{peer} and nms_cpp disagree on workload {workload} ({spec['what']}): {len(got)} vs {len(reference)} "
        f"kept; expected identical kept indices in the same order before any timing (issue 3)"
    )
    benchmark.group = f"nms {workload}: {spec['what']}"
    benchmark.extra_info.update(workload=spec["what"], kept=int(len(reference)), boxes=len(s))
    if peer == "nms_cpp":
        benchmark(call)
    else:  # seconds per call: a few rounds are enough to compare against the library
        benchmark.pedantic(call, rounds=1 if peer == "oracle" else 3, iterations=1)


def test_nms_cpp_beats_opencv_by_the_target_factor(nms_lib: Any, nms_criteria: dict[str, Any],
                                                   scenes: dict[str, Scene], workload: str,
                                                   reports_dir: Path) -> None:
    spec = nms_criteria["workloads"][workload]
    s, iou = scenes[workload], float(spec["iou"])
    t_cpp = best_of(peer_call("nms_cpp", nms_lib, s, iou), 40)
    t_cv = best_of(peer_call("opencv", nms_lib, s, iou), 2)
    ratio = t_cv / t_cpp
    write_figures(reports_dir, f"speedup_{workload}", {
        "workload": spec["what"], "nms_cpp_ms": round(t_cpp * 1e3, 3), "opencv_ms": round(t_cv * 1e3, 3),
        "speedup_vs_opencv": round(ratio, 1)})
    target = float(spec["opencv_speedup_min"])
    assert ratio >= target, (
        f"nms_cpp took {t_cpp * 1e3:.2f} ms and cv2.dnn.NMSBoxesBatched {t_cv * 1e3:.1f} ms on {spec['what']}: "
        f"{ratio:.1f}x, expected at least {target:g}x (fixtures/nms/criteria.yaml, issue 3); profile "
        f"nms_cpp/src/nms_core.cpp (grid of kept boxes) for a regression"
    )


def test_nms_cost_grows_close_to_n_log_n_on_sparse_scenes(nms_lib: Any, nms_criteria: dict[str, Any],
                                                          reports_dir: Path) -> None:
    spec = nms_criteria["scaling"]
    sizes = [int(n) for n in spec["sizes"]]
    iou = float(spec["iou"])

    def scene(n: int) -> Scene:  # constant density: the frame grows with n
        extent = float(np.sqrt(n * float(spec["area_per_box_px2"])))
        return make_scene(spec["kind"], n, int(spec["seed"]), 1, sparse_extent=extent)

    # Sizes interleaved round by round and the best of 40 kept: a burst of load from the other tenants of
    # a shared machine then hits every size alike instead of one.
    calls = [peer_call("nms_cpp", nms_lib, scene(n), iou) for n in sizes]
    times = [float("inf")] * len(sizes)
    for _ in range(40):
        for k, call in enumerate(calls):
            times[k] = min(times[k], best_of(call, 1))
    ratios = [b / a for a, b in zip(times, times[1:])]
    mean_ratio = float(np.exp(np.mean(np.log(ratios))))
    cv_sizes = [int(n) for n in spec.get("opencv_sizes", [])]
    cv_times = [best_of(peer_call("opencv", nms_lib, scene(n), iou), 1) for n in cv_sizes]
    write_figures(reports_dir, "scaling", {
        "workload": f"sparse, one class, {spec['area_per_box_px2']} px2 per box, IoU {iou}",
        "nms_cpp_ms": {n: round(t * 1e3, 3) for n, t in zip(sizes, times)},
        "opencv_ms": {n: round(t * 1e3, 1) for n, t in zip(cv_sizes, cv_times)},
        "mean_doubling_ratio": round(mean_ratio, 2)})
    limit = float(spec["doubling_ratio_max"])
    assert mean_ratio <= limit, (
        f"nms_cpp on constant-density sparse scenes of {sizes} boxes took {[round(t * 1e3, 2) for t in times]} ms: "
        f"mean time ratio per doubling {mean_ratio:.2f}, expected <= {limit} (n log n ~2.1, n x kept ~4; OpenCV "
        f"took {[round(t * 1e3, 1) for t in cv_times]} ms at {cv_sizes}; fixtures/nms/criteria.yaml, issue 3); "
        f"check the grid sizing in nms_cpp/src/nms_core.cpp"
    )
