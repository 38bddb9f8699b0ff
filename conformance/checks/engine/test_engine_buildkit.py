"""The engine builds with BuildKit and keeps its cache mounts: what the images' wheel cache relies on (seed 000).

Builds `--buildkit-probe` (default fixtures/engine/buildkit-probe) on the stand-in base.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.docker.builder import Builder, BuildStep, parse_buildkit_plain
from conformance.docker.containers import run_once

pytestmark = pytest.mark.docker

PROBE_TAG = "orin-kit/buildkit-probe:check"
CACHE_MOUNT = "--mount=type=cache"


@dataclass(frozen=True)
class ProbeBuild:
    steps: list[BuildStep]
    log: str


def _build(builder: Builder, context: Path, base: str, token: str) -> ProbeBuild:
    argv = builder.build_argv(context, context / "Dockerfile", PROBE_TAG,
                              {"BASE_IMAGE": base, "PROBE_TOKEN": token})
    result = subprocess.run(argv, capture_output=True, text=True, env=builder.run_env(), timeout=600, check=False)
    log = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"build of the BuildKit probe {context} failed (exit {result.returncode}): "
                    f"{log.strip().splitlines()[-1] if log.strip() else 'no output'}; expected a BuildKit build; "
                    "fix: DOCKER_BUILDKIT=1 with the classic client or `docker buildx build` (docs/images.md, 'Engine')",
                    pytrace=False)
    return ProbeBuild(parse_buildkit_plain(log), log)


def _seen_in_cache() -> set[str]:
    return set(run_once(PROBE_TAG, ["cat", "/probe-seen.txt"], timeout=120).stdout.split())


@pytest.fixture(scope="module")
def probe_context(pytestconfig: pytest.Config) -> Path:
    return Path(pytestconfig.getoption("buildkit_probe")).resolve()


def test_cache_mount_step_is_reported_cached_on_rebuild(docker_builder: Builder, stand_in_base: str,
                                                        probe_context: Path) -> None:
    token = f"same-{uuid.uuid4().hex[:8]}"
    _build(docker_builder, probe_context, stand_in_base, token)
    rebuild = _build(docker_builder, probe_context, stand_in_base, token)
    cache_steps = [step for step in rebuild.steps if CACHE_MOUNT in step.name]
    assert cache_steps, (
        f"no build step of {probe_context / 'Dockerfile'} uses {CACHE_MOUNT}; expected the wheel-cache step "
        "of seed 000 ('RUN --mount=type=cache,target=...'); fix: put downloads under a BuildKit cache mount")
    rerun = [step.name for step in cache_steps if not step.cached]
    assert not rerun, (
        f"an identical rebuild re-ran {rerun} instead of reporting it CACHED; expected BuildKit's layer cache "
        "to hold (seed 000, 'Faster rebuilds'); fix: build with BuildKit and keep the builder's cache")


def test_cache_mount_keeps_content_between_builds(docker_builder: Builder, stand_in_base: str,
                                                  probe_context: Path) -> None:
    first, second = (f"token-{uuid.uuid4().hex[:8]}" for _ in range(2))
    _build(docker_builder, probe_context, stand_in_base, first)
    _build(docker_builder, probe_context, stand_in_base, second)
    seen = _seen_in_cache()
    assert first in seen, (
        f"the second build's cache directory held {sorted(seen)[:5] or 'nothing'}, not the token {first!r} the "
        "first build left there; expected a BuildKit cache mount that outlives a build (seed 000: wheels are "
        f"downloaded once); fix: use 'RUN {CACHE_MOUNT},target=DIR' for the download directory")
