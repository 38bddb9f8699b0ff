"""Rules every image is held to, the exact distributions of each image, and a user's description of an image
taken as given (`--image TAG --image-spec FILE`).

Files: `fixtures/images/image_rules.yaml`, `fixtures/images/distributions.yaml`, and the user's own YAML.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import RootModel

from conformance.config import Model, Regex, load
from conformance.config.images import IMAGES_FIXTURES, HealthBreak, ImageSpec

IMAGE_RULES = IMAGES_FIXTURES / "image_rules.yaml"
DISTRIBUTIONS = IMAGES_FIXTURES / "distributions.yaml"


class SecretRules(Model):
    credential_url: Regex
    secret_names: Regex
    allowed_names: tuple[str, ...] = ()
    files: tuple[str, ...]
    config_files: tuple[str, ...] = ()


class ImageRules(Model):
    build_tools: tuple[str, ...]
    cache_paths: tuple[str, ...]
    cache_globs: tuple[str, ...] = ()
    mounted_not_baked: tuple[str, ...]
    forbidden_env: tuple[str, ...]
    allowed_from_platforms: tuple[str, ...]
    secrets: SecretRules


@lru_cache(maxsize=2)
def load_image_rules(path: Path = IMAGE_RULES) -> ImageRules:
    return load(path, ImageRules)


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them: lower case, runs of `-_.` as one `-`."""
    return re.sub(r"[-_.]+", "-", name).lower()


class Distributions(RootModel[dict[str, dict[str, tuple[str, ...]]]]):
    """Image name -> variant -> the exact set of installed distributions."""


def load_distributions(path: Path = DISTRIBUTIONS) -> dict[str, dict[str, frozenset[str]]]:
    data = load(path, Distributions).root
    return {image: {variant: frozenset(normalize(n) for n in names) for variant, names in variants.items()}
            for image, variants in data.items()}


class ImageDescription(Model):
    """What a user says about an image the kit did not build and whose kind it cannot read from a label.

    Only what the checks need: the rest of an image's spec describes how to build it.
    """

    name: str
    port: int | None = None  # the service's port; null for a batch tool
    has_torch: bool
    torch_wheel: str | None = None  # the pinned wheel's file name, when has_torch
    app_module: str  # imported to prove it loads no forbidden module
    runtime_imports: tuple[str, ...] = ()
    must_be_absent: tuple[str, ...] = ("onnxruntime", "onnxruntime-gpu")
    native_modules: tuple[str, ...] = ("numpy",)
    optional_modules: tuple[str, ...] = ()
    system_packages: tuple[str, ...] = ("tini",)
    writable_dirs: tuple[str, ...] = ()
    no_deps_packages: tuple[str, ...] = ()
    required_env: dict[str, str] = {}
    required_args: tuple[str, ...] = ()
    health_break: HealthBreak | None = None
    nms_library: str | None = None
    #: the exact installed distributions; without it the distribution check cannot run (a certification gap)
    distributions: tuple[str, ...] | None = None

    def spec(self) -> ImageSpec:
        fields = self.model_dump(exclude={"distributions"})
        return ImageSpec(dockerfile="", requirements="", **fields)


def load_image_description(path: Path) -> ImageDescription:
    return load(path, ImageDescription)
