"""The image helpers on recorded text and local files: layer mapping, variants data, fetch-wheel script."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.config import ConfigError
from conformance.docker.inspect import _makes_layer
from conformance.config.images import load_variants


@pytest.mark.parametrize(("created_by", "layer"), [
    ("ENV PIP_BREAK_SYSTEM_PACKAGES=1", False),
    ("ARG TORCH_WHEEL_SHA256=", False),
    ('CMD ["python3"]', False),
    ("RUN |4 TORCH_WHEEL_URL=file:///w/torch.whl /bin/sh -c sh /tmp/fetch-wheel.sh", True),
    ("WORKDIR /app", True),
    ("COPY app/ /app/ # buildkit", True),
    ("", True),  # the imported base's one layer
    ("/bin/sh -c #(nop)  ENV A=1", False),
    ("/bin/sh -c #(nop) COPY file:abc in /x", True),
], ids=["env", "arg", "cmd", "run", "workdir", "copy", "imported", "classic-env", "classic-copy"])
def test_history_entry_makes_layer_by_instruction(created_by: str, layer: bool) -> None:
    assert _makes_layer(created_by) is layer, f"{created_by!r} should {'make' if layer else 'not make'} a layer"


def test_variants_file_names_both_variants_and_images() -> None:
    variants, images = load_variants()
    assert set(variants) == {"generic", "jetson"}, f"variants: {sorted(variants)}"
    assert set(images) == {"gliner2", "yolo-tiled"}, f"images: {sorted(images)}"


def test_variants_file_missing_field_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "variants.yaml"
    bad.write_text("variants:\n  generic: {build_args: {}}\nimages: {}\n")
    with pytest.raises(ConfigError, match="variants.yaml: variants.generic.torch_version: is missing"):
        load_variants(bad)
