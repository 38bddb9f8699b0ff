"""Self-proof: each gliner2 conformance check fails on its known-bad fixture, with the right message."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from conformance import CHECKS_DIR, FIXTURES_DIR
from conformance.fixtures_gliner2 import DEFAULT_MODEL, LocalService, start_service

SERVICE = str(CHECKS_DIR / "test_gliner2_service.py")
RunChecks = Callable[..., pytest.RunResult]


def test_onnx_check_fails_with_a_stub_onnxruntime(run_checks: RunChecks) -> None:
    result = run_checks(str(CHECKS_DIR / "test_gliner2_onnx.py"),
                        f"--gliner2-pythonpath={FIXTURES_DIR / 'gliner2' / 'onnx_stub'}")
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(["*onnxruntime is importable from */onnx_stub/onnxruntime/__init__.py*",
                                 "*`import gliner` loaded onnxruntime; expected no onnxruntime module*"])


def test_health_check_fails_when_inference_runs_on_the_event_loop(run_checks: RunChecks) -> None:
    result = run_checks(SERVICE, "-k", "health", "--gliner2-app=gliner2_bad_apps:event_loop_app")
    result.assert_outcomes(failed=1, deselected=21)
    result.stdout.fnmatch_lines(["*/health *expected *Fix: run the model off the event loop*"])


def test_concurrency_check_fails_when_a_busy_model_answers_500(run_checks: RunChecks) -> None:
    result = run_checks(SERVICE, "-k", "concurrent", "--gliner2-app=gliner2_bad_apps:busy_app")
    result.assert_outcomes(failed=1, deselected=21)
    result.stdout.fnmatch_lines(["*of 200 concurrent requests got 5xx*expected none*"])


def test_input_check_fails_when_limits_are_not_enforced(run_checks: RunChecks) -> None:
    result = run_checks(SERVICE, "-k", "bad_input", "--gliner2-app=gliner2_bad_apps:unlimited_app")
    result.assert_outcomes(failed=2, passed=15, deselected=5)
    result.stdout.fnmatch_lines(["*text-over-limit: /v1/entities answered 5*expected a 4xx*",
                                 "*too-many-labels: /v1/entities answered *expected a 4xx*"])


def test_log_check_fails_on_the_onnxruntime_crash_signature(run_checks: RunChecks) -> None:
    log = FIXTURES_DIR / "gliner2" / "bad_logs" / "onnxruntime_teardown.log"
    result = run_checks(SERVICE, "-k", "logs", f"--gliner2-log={log}")
    result.assert_outcomes(failed=1, deselected=21)
    result.stdout.fnmatch_lines(["*crash signature free-invalid-pointer*onnxruntime#28301*"])


@pytest.fixture
def unbatched_service(tmp_path: Path) -> Iterator[LocalService]:
    from app.gliner2_service.tiny_model import ensure

    service = start_service(tmp_path, "unbatched",
                            env={"MODEL_PATH": str(ensure(DEFAULT_MODEL)), "MICROBATCH": "0"})
    try:
        yield service
    finally:
        service.stop()


def test_throughput_floor_fails_for_a_service_that_does_not_batch(
        run_checks: RunChecks, unbatched_service: LocalService) -> None:
    # An Orin profile: its floor has no known deviation; both URLs serve one request at a time.
    result = run_checks(str(CHECKS_DIR / "test_gliner2_bench.py"), "-k", "16-clients",
                        "--benchmark-disable", "--profile=orin-nx-16gb",
                        f"--gliner2-url={unbatched_service.url}",
                        f"--gliner2-peer-url={unbatched_service.url}")
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(["*with 16 clients micro-batched served*expected >= 2.0x*"])
