"""The images build, in time and in size (issue 6; seed 001 "Success Metrics": build < 15 min, < 10 GB)."""

from __future__ import annotations

from collections.abc import Callable
import pytest

from conformance.docker.images import NOT_APPLICABLE, BuiltImage
from conformance.docker.inspect import image_size_bytes
from conformance.config.profiles import Profile

RecordProperty = Callable[[str, object], None]  # pytest's record_property fixture

pytestmark = pytest.mark.docker


def test_image_builds_within_profile_build_time(built_image: BuiltImage, profile: Profile,
                                                record_property: RecordProperty) -> None:
    if built_image.build is None:
        pytest.skip(f"{NOT_APPLICABLE}--image {built_image.tag} given: this session built nothing to time")
    minutes = built_image.build.seconds / 60
    record_property("build_seconds", round(built_image.build.seconds, 1))
    record_property("build_reused", built_image.build.reused)  # the recorded build of an unchanged input
    limit = profile.thresholds.build_minutes_max
    assert minutes <= limit, (
        f"{built_image.tag} took {minutes:.1f} min to build, expected at most {limit} min (profile "
        f"{profile.name}); fix: keep the BuildKit cache and wheel cache mounts, move slow steps before "
        f"requirements.txt; log {built_image.build.log_path} (seed 001 'Success Metrics')")


def test_image_size_within_profile_limit(built_image: BuiltImage, docker_cli: str, profile: Profile,
                                         record_property: RecordProperty) -> None:
    size_gb = image_size_bytes(docker_cli, built_image.tag) / 1e9
    record_property("image_size_gb", round(size_gb, 3))
    limit = profile.thresholds.image_size_gb_max
    assert size_gb <= limit, (
        f"{built_image.tag} is {size_gb:.2f} GB, expected at most {limit} GB (profile {profile.name}); fix: "
        "multi-stage build, no build tools or wheels left in the runtime stage, nothing the app does not "
        "import (seed 001 'Challenge 3: Image Size Optimization')")
