"""Editing requirements.txt keeps the torch layer: BuildKit reports it CACHED and every layer up to it keeps
its digest; only later layers change (seed 000 "Layer Ordering for Cache Stability")."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from conformance.docker.builder import Builder
from conformance.docker.images import BuiltImage, ImageBuilds
from conformance.docker.builder import build_image
from conformance.docker.context import build_context
from conformance.docker.inspect import layers

pytestmark = pytest.mark.docker

#: Appended to requirements.txt in a copy of the build context, with a token never built before: a
#: deterministic edit would let a rerun find the whole edited build in the cache (even a torch layer
#: placed after requirements.txt would then be reported CACHED).
EDIT = "\n# conformance cache probe {token}: requirements.txt edited after the image was built\n"


def test_torch_layer_survives_requirements_edit(built_image: BuiltImage, image_builds: ImageBuilds,
                                                docker_builder: Builder, docker_cli: str,
                                                tmp_path: Path) -> None:
    spec = built_image.spec
    marker = spec.heavy_step_marker
    if not marker:
        pytest.skip(f"{spec.name} carries no torch, so no heavy layer to guard (variants.yaml "
                    "heavy_step_marker: null)")
    if built_image.build is None:
        pytest.skip(f"--image {built_image.tag} given: the cache check needs to build the image itself")
    context = build_context(image_builds.images_dir, image_builds.wheelhouse, tmp_path / "context", copy=True)
    # The "before" image is rebuilt here from the unedited copy (all cached, seconds): both builds then
    # draw on the same cache records, which an earlier --no-cache build (the benchmark) may have renewed.
    base = build_image(docker_builder, context / "images" / spec.dockerfile, f"{built_image.tag}-cachebase",
                       image_builds.build_args(), image_builds.logs_dir / f"build-{spec.name}-cachebase.log",
                       context=context, network=built_image.variant.network, timeout_s=image_builds.timeout_s)
    requirements = context / "images" / spec.requirements
    requirements.write_text(requirements.read_text() + EDIT.format(token=uuid.uuid4().hex))
    probe = build_image(docker_builder, context / "images" / spec.dockerfile, f"{built_image.tag}-cacheprobe",
                        image_builds.build_args(), image_builds.logs_dir / f"build-{spec.name}-cacheprobe.log",
                        context=context, network=built_image.variant.network, timeout_s=image_builds.timeout_s)
    step = probe.step(marker)
    assert step.cached, (
        f"after a requirements.txt edit BuildKit rebuilt the torch step `{step.name[:90]}`, expected "
        f"`CACHED`; fix: install the torch wheel BEFORE `COPY requirements.txt` (seed 000 'Layer Ordering'); "
        f"log {probe.log_path}")
    before = layers(docker_cli, base.tag)
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
