"""The images at run time: tini is PID 1 and `docker stop` is quick; volumes stay writable for the non-root
user; the HEALTHCHECK reaches healthy and the service answers a real request, and turns unhealthy when the
service breaks inside the container; the YOLO image turns a short
video into an output file as the non-root user; logs carry no crash signature (seeds 000, 001, 004)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.config.service import load_crash_signatures
from conformance.tiled.assets import ensure_detector
from conformance.docker.images import NOT_APPLICABLE, BuiltImage
from conformance.docker.containers import Container, run_once
from conformance.docker.inspect import docker_json
from conformance.config.profiles import Profile

RecordProperty = Callable[[str, object], None]  # pytest's record_property fixture

pytestmark = pytest.mark.docker

#: A long-running command for images whose default command is a one-shot CLI.
IDLE = ["python3", "-c", "import time; time.sleep(100000)"]
REQUEST = ("import json, urllib.request as u; req = u.Request('http://127.0.0.1:8012/v1/entities', "
           "data=json.dumps({'text': 'Ada Lovelace met Charles Babbage in London.', 'labels': ['person', "
           "'city']}).encode(), headers={'Content-Type': 'application/json'}); r = u.urlopen(req, timeout=60); "
           "print(json.dumps({'status': r.status, 'body': json.loads(r.read())}))")


@dataclass
class ServiceRun:
    health: str
    health_body: str
    request: dict[str, object] | None
    request_error: str
    logs: str


@pytest.fixture(scope="module")
def service_run(built_image: BuiltImage, request: pytest.FixtureRequest) -> Iterator[ServiceRun]:
    """The GLiNER2 service started from its image with the tiny model mounted read-only, one real request."""
    if built_image.spec.port is None:
        pytest.skip(f"{NOT_APPLICABLE}{built_image.name} is a batch tool, not a service (port: null)")
    gliner2_model: Path = request.getfixturevalue("image_gliner2_model")
    with Container(built_image.tag, volumes={str(gliner2_model): "/models/gliner2:ro"}) as box:
        health = box.wait_health(timeout_s=90)
        if health.startswith("exited"):  # nothing to ask: the logs say why
            yield ServiceRun(health, "", None, "the container exited", box.logs())
            return
        probe = box.exec("python3", "-c", "import urllib.request as u; print(u.urlopen("
                         "'http://127.0.0.1:8012/health', timeout=5).read().decode())")
        answer = box.exec("python3", "-c", REQUEST)
        reply = json.loads(answer.stdout.strip().splitlines()[-1]) if answer.returncode == 0 else None
        yield ServiceRun(health, probe.stdout.strip() or probe.stderr.strip()[-300:], reply,
                         answer.stderr.strip()[-600:], box.logs())


def test_tini_is_pid1_and_docker_stop_is_fast(built_image: BuiltImage, profile: Profile,
                                             record_property: RecordProperty) -> None:
    command = [] if built_image.spec.port else IDLE
    with Container(built_image.tag, command or None) as box:
        if built_image.spec.port:
            box.wait_health(timeout_s=60)  # stop the service once it serves, not while it boots
        pid1 = box.exec("cat", "/proc/1/comm").stdout.strip()
        seconds = box.stop_seconds(grace_s=10)
    record_property("docker_stop_s", round(seconds, 2))
    limit = profile.thresholds.docker_stop_s_max
    assert pid1 == "tini" and seconds < limit, (
        f"{built_image.tag}: PID 1 is '{pid1}' and `docker stop` took {seconds:.1f} s, expected tini as PID 1 "
        f"and under {limit} s; fix: `ENTRYPOINT [\"/usr/bin/tini\", \"--\"]` (seed 000 'tini: proper PID 1 "
        "signal handling')")


def test_mounted_volumes_stay_writable_for_non_root_user(built_image: BuiltImage) -> None:
    dirs = list(built_image.spec.writable_dirs)
    script = ('id -u; for d in "$@"; do (touch "$d/.probe" && mkdir -p "$d/.cache-probe") 2>/dev/null '
              '|| echo "unwritable $d $(stat -c %U:%a "$d")"; done')
    # fresh anonymous volumes, as compose would mount
    result = run_once(built_image.tag, ["sh", "-c", script, "probe", *dirs], anonymous_volumes=dirs)
    lines = result.stdout.split()
    uid = lines[0] if lines else "?"
    problems = [line for line in result.stdout.splitlines() if line.startswith("unwritable")]
    assert uid not in ("0", "?") and not problems, (
        f"{built_image.tag} runs as uid {uid}; {'; '.join(problems) or 'all dirs writable'}; expected a non-root "
        f"user that can write {', '.join(dirs)} with volumes mounted; fix: mkdir and chown/chmod them before "
        "USER (seed 004 'Fixed Volume Permissions')")


def test_service_becomes_healthy_and_answers_a_request(service_run: ServiceRun) -> None:
    assert service_run.health == "healthy", (
        f"HEALTHCHECK status '{service_run.health}', expected healthy within 90 s; /health said "
        f"{service_run.health_body!r}; last log lines: {service_run.logs.strip()[-400:]} (seed 000 signals)")
    assert service_run.request is not None and service_run.request.get("status") == 200, (
        f"POST /v1/entities inside the container failed: {service_run.request_error or service_run.request}; "
        "expected 200 with the tiny model at /models/gliner2 (seed 000 'First inference returns 200 OK')")
    body = service_run.request["body"]
    assert isinstance(body, dict) and isinstance(body.get("results"), list) and len(body["results"]) == 1, (
        f"response body {str(body)[:300]}, expected one result per text (app.gliner2_service.schemas)")


#: The image's own HEALTHCHECK command, probed every second for this check: what is proven is that the
#: command sees the breakage, not the image's timings (interval 5-10 s would make this check slow).
FAST_PROBES = {"interval": 1_000_000_000, "timeout": 5_000_000_000, "retries": 2, "start_period": 1_000_000}


def test_healthcheck_turns_unhealthy_when_the_service_breaks(built_image: BuiltImage, docker_cli: str) -> None:
    spec = built_image.spec
    if spec.health_break is None:
        pytest.skip(f"no health_break given for {spec.name}: say how its service breaks (stop_service: true, or "
                    "hide: PATH) so the check can prove its HEALTHCHECK sees it")
    config = docker_json(docker_cli, "image", "inspect", built_image.tag)[0]["Config"].get("Healthcheck") or {}
    test = config.get("Test") or []
    assert test and test[0] != "NONE", (
        f"{built_image.tag} has no HEALTHCHECK, expected one that probes the service (seed 001 'Health check "
        "monitors critical components'); fix: `HEALTHCHECK CMD [\"python3\", \"/usr/local/bin/healthcheck.py\"]`")
    probes = {**FAST_PROBES, "test": test}
    command = None if spec.port else IDLE
    hide = spec.health_break.hide
    with ExitStack() as stack:
        good = stack.enter_context(Container(built_image.tag, command, healthcheck=probes))
        # hide: a second container, started at once, with the path under an empty tmpfs from its start
        target = stack.enter_context(Container(built_image.tag, command, healthcheck=probes,
                                               tmpfs={hide: ""})) if hide else good
        before = good.wait_health(timeout_s=90, want=("healthy",))  # through any "unhealthy" while it boots
        if spec.health_break.stop_service:
            good.freeze_service()
        # unhealthy is due after `retries` failed probes, each at most interval + timeout (docker's own clock)
        due = FAST_PROBES["retries"] * (FAST_PROBES["interval"] + FAST_PROBES["timeout"]) / 1e9
        after = target.wait_health(timeout_s=due + 8, want=("unhealthy",))
    what = f"with {hide} hidden" if hide else "after its service was stopped (SIGSTOP)"
    assert before == "healthy" and after == "unhealthy", (
        f"{built_image.tag}: HEALTHCHECK {' '.join(test[1:])[:80]} said '{before}' on the running service and "
        f"'{after}' {what}, expected healthy then unhealthy: a health check that cannot fail does not probe the "
        "service; fix: probe what the service needs (GET /health on its port; the native libraries it loads), "
        "never `CMD true` (seed 001 'Health check monitors critical components')")


def test_service_logs_free_of_crash_signatures(service_run: ServiceRun) -> None:
    found = [s.id for s in load_crash_signatures() if re.search(s.pattern, service_run.logs)]
    assert not found, (f"container logs carry crash signatures {found}, expected none (seed 000 'Known Working "
                       f"Signals'; onnxruntime#28301); last lines: {service_run.logs.strip()[-400:]}")


def test_video_processed_to_output_volume_as_non_root_user(built_image: BuiltImage,
                                                           world_writable_dir: Path, tmp_path: Path) -> None:
    if built_image.spec.port is not None:
        pytest.skip(f"{NOT_APPLICABLE}{built_image.name} is a service; the video run is the YOLO image's (seed 001)")
    pytest.importorskip("torch", reason="building the tiny detector needs torch==2.13.0 (the dev extra)")
    engine = ensure_detector()
    video_dir = tmp_path / "videos"
    video_dir.mkdir()
    _write_video(video_dir / "short.mp4")
    for path in (video_dir, tmp_path):
        path.chmod(0o755)
    (video_dir / "short.mp4").chmod(0o644)
    volumes = {str(engine): "/models/model.onnx:ro", str(video_dir): "/videos:ro",
               str(world_writable_dir): "/output", str(engine.parent / "labels.txt"): "/models/labels.txt:ro"}
    result = run_once(built_image.tag, ["python3", "-m", "app.tiled", "--input", "/videos/short.mp4",
                                        "--output", "/output/out.mp4", "--engine", "/models/model.onnx",
                                        "--labels", "/models/labels.txt", "--enable-tracking"],
                      volumes=volumes, timeout=600)
    out = world_writable_dir / "out.mp4"
    assert result.returncode == 0 and out.is_file() and out.stat().st_size > 0, (
        f"app.tiled in {built_image.tag} exited {result.returncode} and wrote "
        f"{out.stat().st_size if out.is_file() else 'no'} bytes to /output; expected an annotated video; "
        f"stderr: {result.stderr.strip()[-500:]} (seed 001 'Integration Tests')")
    assert out.stat().st_uid != 0, f"{out} is owned by root, expected the image's non-root user (seed 004)"


def _write_video(path: Path, frames: int = 6) -> None:
    """A short synthetic clip: moving bright squares on grey, 1280x720."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (1280, 720))
    for i in range(frames):
        frame = np.full((720, 1280, 3), 96, np.uint8)
        cv2.rectangle(frame, (100 + 40 * i, 200), (220 + 40 * i, 320), (255, 255, 255), -1)
        writer.write(frame)
    writer.release()
