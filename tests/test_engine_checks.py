"""Self-proof of the BuildKit checks (docker tier), and the BuildKit log parser on recorded text."""

from __future__ import annotations

import pytest

from conformance import CHECKS_DIR, FIXTURES_DIR
from conformance.docker.builder import Builder, parse_buildkit_plain

BUILDKIT_CHECKS = str(CHECKS_DIR / "engine" / "test_engine_buildkit.py")

# Recorded from `DOCKER_BUILDKIT=1 docker build --progress=plain` (Docker 20.10.24), trimmed.
REBUILD_LOG = """\
#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 38B done
#1 DONE 0.0s
#5 [1/2] FROM docker.io/orin-kit/base:bookworm
#5 DONE 0.0s
#6 [2/2] RUN --mount=type=cache,target=/var/cache/orin-kit-probe     ls /var/cache/orin-kit-probe
#6 CACHED
#7 exporting to image
#7 exporting layers done
"""


def test_parser_reads_cached_and_rerun_steps() -> None:
    steps = {s.vertex: s for s in parse_buildkit_plain(REBUILD_LOG)}
    assert steps[6].cached and "--mount=type=cache" in steps[6].name, f"step 6 should be CACHED: {steps[6]}"
    assert not steps[5].cached, f"step 5 ran (DONE), it was not CACHED: {steps[5]}"
    rerun = parse_buildkit_plain(REBUILD_LOG.replace("#6 CACHED", "#6 0.412 done\n#6 DONE 0.5s"))
    assert not [s for s in rerun if s.vertex == 6][0].cached, "a step that ran must not read as CACHED"


def test_builder_argv_for_both_kinds() -> None:
    classic = Builder("classic-buildkit", "/usr/bin/docker", {"DOCKER_BUILDKIT": "1"})
    assert classic.build_argv("ctx", "ctx/Dockerfile", "t:1", {"A": "b"}) == [
        "/usr/bin/docker", "build", "--progress=plain", "-f", "ctx/Dockerfile", "-t", "t:1", "--build-arg", "A=b",
        "ctx"], "classic client builds with `docker build` and DOCKER_BUILDKIT=1"
    buildx = Builder("buildx", "docker")
    assert buildx.build_argv("ctx", "ctx/Dockerfile", "t:1")[:4] == ["docker", "buildx", "build", "--load"], (
        "buildx must --load the result into the engine so that `docker run` sees it")


def test_docker_checks_skip_naming_the_missing_engine(run_checks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = run_checks(BUILDKIT_CHECKS, "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*docker: no Docker engine answers at unix:///nonexistent/docker.sock*"
                                 "python -m conformance engine up*"])
