"""Editing requirements.txt keeps the torch layer: BuildKit reports it CACHED and every layer up to it keeps
its digest; only later layers change (seed 000 "Layer Ordering for Cache Stability")."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from conformance.docker.builder import BuildResult
from conformance.docker.images import NOT_APPLICABLE, BuiltImage, ImageBuilds
from conformance.docker.inspect import layers

pytestmark = pytest.mark.docker

#: Appended to requirements.txt in a copy of the build context, with a token never built before: a
#: deterministic edit would let a rerun find the whole edited build in the cache (even a torch layer
#: placed after requirements.txt would then be reported CACHED).
EDIT = "\n# conformance cache probe {token}: requirements.txt edited after the image was built\n"


def test_torch_layer_survives_requirements_edit(built_image: BuiltImage, image_builds: ImageBuilds,
                                                docker_cli: str) -> None:
    spec = built_image.spec
    marker = spec.heavy_step_marker
    if not marker:
        pytest.skip(f"{NOT_APPLICABLE}{spec.name} carries no torch, so no heavy layer to guard (variants.yaml "
                    "heavy_step_marker: null)")
    if built_image.build is None:
        pytest.skip(f"{NOT_APPLICABLE}--image {built_image.tag} given: the cache check builds the image's tree")
    # The "before" image is rebuilt here from the unedited copy (all cached, seconds): both builds then
    # draw on the same cache records, which an earlier --no-cache build (the benchmark) may have renewed.
    # One copy serves both builds, so the second sends only the edited file to the builder.
    context = image_builds.copy_context("cache")
    base = image_builds.build_in(context, spec.name, "cachebase")
    requirements = context / "images" / spec.requirements
    requirements.write_text(requirements.read_text() + EDIT.format(token=uuid.uuid4().hex))
    probe = image_builds.build_in(context, spec.name, "cacheprobe")
    try:
        _assert_heavy_layers_kept(built_image, docker_cli, base.tag, probe)
    finally:
        image_builds.remove(base.tag, probe.tag)


def _assert_heavy_layers_kept(built_image: BuiltImage, docker_cli: str, base_tag: str, probe: BuildResult) -> None:
    spec = built_image.spec
    marker = spec.heavy_step_marker or ""
    step = probe.step(marker)
    assert step.cached, (
        f"after a requirements.txt edit BuildKit rebuilt the torch step `{step.summary(90)}`, expected "
        f"`CACHED`; steps rebuilt: {_rebuilt(probe)}; fix: install the torch wheel BEFORE `COPY "
        f"requirements.txt` (seed 000 'Layer Ordering'); log {probe.log_path}")
    before = layers(docker_cli, base_tag)
    after = layers(docker_cli, probe.tag)
    heavy = max(i for i, layer in enumerate(before) if marker in layer.created_by)
    kept_before = [layer.diff_id for layer in before[: heavy + 1] if layer.diff_id]
    kept_after = [layer.diff_id for layer in after[: heavy + 1] if layer.diff_id]
    assert kept_before == kept_after, (
        f"layers up to the torch step changed digest after a requirements.txt edit "
        f"({sum(a != b for a, b in zip(kept_before, kept_after))} of {len(kept_before)} differ), expected all "
        "kept; fix: nothing before the torch layer may depend on requirements.txt (seed 000 'Layer Ordering')")
    name = Path(spec.requirements).name
    copied = [(a, b) for a, b in zip(before, after) if a.created_by.startswith("COPY") and name in a.created_by]
    assert copied and all(a.diff_id != b.diff_id for a, b in copied), (
        f"the `COPY ... {name}` layer kept its digest although {name} changed; expected it (and the layers "
        "after it) to rebuild: the probe did not exercise the edit")


def _rebuilt(build: BuildResult) -> str:
    return "; ".join(f"`{step.summary(60)}`" for step in build.rebuilt()) or "none"
