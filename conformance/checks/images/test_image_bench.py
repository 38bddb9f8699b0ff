"""Benchmarks of the image builds (issue 6), measured with pytest-benchmark in one run on one engine:
a cold build (`--no-cache`: every layer rebuilt; the BuildKit wheel cache mount kept, as on any build
machine) against the named peer, a warm rebuild after a requirements.txt edit; and the image sizes."""

from __future__ import annotations

from collections.abc import Callable
import uuid
from pathlib import Path

import pytest

from conformance.docker.builder import Builder
from conformance.docker.images import BuiltImage, ImageBuilds
from conformance.docker.images import TAG_REPO
from conformance.docker.builder import build_image
from conformance.docker.context import build_context
from conformance.docker.inspect import dockerfile_arg_default, image_size_bytes
from conformance.config.profiles import Profile

RecordProperty = Callable[[str, object], None]  # pytest's record_property fixture

pytestmark = [pytest.mark.docker, pytest.mark.benchmark]


def test_warm_rebuild_after_requirements_edit_vs_cold_build(
        built_image: BuiltImage, image_builds: ImageBuilds, docker_builder: Builder, profile: Profile,
        benchmark, tmp_path: Path, record_property: RecordProperty) -> None:
    spec = built_image.spec
    if not spec.heavy_step_marker:
        pytest.skip(f"{spec.name} has no heavy layer; the rebuild ratio is measured on the torch image")
    if built_image.build is None:
        pytest.skip(f"--image {built_image.tag} given: the benchmark needs to build")
    context = build_context(image_builds.images_dir, image_builds.wheelhouse, tmp_path / "context", copy=True)
    dockerfile = context / "images" / spec.dockerfile
    logs = image_builds.logs_dir
    # The benchmark builds FROM the base plus one small layer: BuildKit keys a local base by its layers, so
    # this gives every step its own cache keys and the --no-cache cold build never adds second cache records
    # for the real images' steps (later builds could then resolve a step to either record, and the cache
    # check would compare layers of different records).
    args = image_builds.build_args()
    base = args.get("BASE_IMAGE") or dockerfile_arg_default(dockerfile, "BASE_IMAGE")
    bench_base = f"{TAG_REPO}/bench-base:{built_image.variant.name}"
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "Dockerfile").write_text(f"FROM {base}\nRUN echo cold-build-benchmark > /etc/orin-kit-bench\n")
    build_image(docker_builder, tmp_path / "base" / "Dockerfile", bench_base, {}, logs / "bench-base.log",
                context=tmp_path / "base", network="none")
    args = {**args, "BASE_IMAGE": bench_base}
    cold = build_image(docker_builder, dockerfile, f"{built_image.tag}-bench", args, logs / "bench-cold.log",
                       context=context, network=built_image.variant.network, no_cache=True)
    requirements = context / "images" / spec.requirements

    def warm_rebuild() -> float:
        # A token never built before: the requirements layer and those after it really rebuild.
        requirements.write_text(requirements.read_text() + f"\n# bench {uuid.uuid4().hex}\n")
        return build_image(docker_builder, dockerfile, f"{built_image.tag}-bench", args, logs / "bench-warm.log",
                           context=context, network=built_image.variant.network).seconds

    warm = benchmark.pedantic(warm_rebuild, rounds=1, iterations=1)
    ratio = warm / cold.seconds
    for key, value in (("cold_build_s", cold.seconds), ("warm_rebuild_s", warm), ("warm_over_cold", ratio)):
        record_property(key, round(value, 3))
        benchmark.extra_info[key] = round(value, 3)
    limit = profile.thresholds.warm_rebuild_ratio_max
    assert ratio <= limit, (
        f"warm rebuild after a requirements.txt edit took {warm:.1f} s = {ratio:.0%} of the cold build "
        f"({cold.seconds:.1f} s) of {spec.name}; expected at most {limit:.0%} (profile {profile.name}); fix: keep "
        "expensive steps before `COPY requirements.txt` (seed 000 'Layer Ordering')")


def test_image_size_recorded(built_image: BuiltImage, docker_cli: str, benchmark,
                             record_property: RecordProperty) -> None:
    size = benchmark.pedantic(image_size_bytes, args=(docker_cli, built_image.tag), rounds=1, iterations=1)
    benchmark.extra_info["image_size_gb"] = round(size / 1e9, 3)
    record_property("image_size_gb", round(size / 1e9, 3))
    assert size > 0, f"{built_image.tag} reports size {size}"
