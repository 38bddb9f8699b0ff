"""What the image checks expect: variants and image specs, the wheelhouse, compose, numpy ABI and pip data.

Files: `fixtures/images/{variants,wheelhouse,compose_criteria,numpy_abi,pip_check_exceptions}.yaml`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, RootModel

from conformance import FIXTURES_DIR
from conformance.config import Model, load

IMAGES_FIXTURES = FIXTURES_DIR / "images"
VARIANTS_FILE = IMAGES_FIXTURES / "variants.yaml"
WHEELHOUSE_SPEC = IMAGES_FIXTURES / "wheelhouse.yaml"
COMPOSE_CRITERIA = IMAGES_FIXTURES / "compose_criteria.yaml"
NUMPY_ABI = IMAGES_FIXTURES / "numpy_abi.yaml"
PIP_CHECK_EXCEPTIONS = IMAGES_FIXTURES / "pip_check_exceptions.yaml"


class Variant(Model):
    """A set of build args that builds every image for one kind of target."""

    name: str = ""
    build_args: dict[str, str] = {}
    network: str = "default"
    torch_version: str
    elf_machine: str  # "x86-64", "AArch64", or "host" (the machine this runs on)


class ImageSpec(Model):
    """What the checks expect of one image."""

    name: str = ""
    dockerfile: str
    requirements: str
    has_torch: bool
    native_modules: tuple[str, ...]
    app_module: str
    system_packages: tuple[str, ...]
    writable_dirs: tuple[str, ...]
    heavy_step_marker: str | None = None
    optional_modules: tuple[str, ...] = ()
    port: int | None = None
    nms_library: str | None = None


class VariantsFile(Model):
    variants: dict[str, Variant]
    images: dict[str, ImageSpec]


def load_variants(path: Path = VARIANTS_FILE) -> tuple[dict[str, Variant], dict[str, ImageSpec]]:
    """Variants and image specs, each carrying its own name; raises ConfigError naming file and key."""
    data = load(path, VariantsFile)
    return ({name: v.model_copy(update={"name": name}) for name, v in data.variants.items()},
            {name: s.model_copy(update={"name": name}) for name, s in data.images.items()})


class WheelGroup(Model):
    requirements: tuple[str, ...] = ()
    no_deps_requirements: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    packages_no_deps: tuple[str, ...] = ()


class WheelhouseSpec(Model):
    python_version: str
    groups: dict[str, WheelGroup]


def load_wheelhouse_spec(path: Path = WHEELHOUSE_SPEC) -> WheelhouseSpec:
    return load(path, WheelhouseSpec)


class ComposeJetson(Model):
    runtime: str
    environment: dict[str, str]


class ComposeLogging(Model):
    driver: str
    max_size: str = Field(alias="max-size")
    max_file: str = Field(alias="max-file")


class ComposeCriteria(Model):
    base: str
    jetson_override: str
    services: tuple[str, ...]
    read_only_targets: tuple[str, ...]
    read_write_targets: tuple[str, ...]
    logging: ComposeLogging
    required_keys: tuple[str, ...]
    jetson: ComposeJetson


@lru_cache(maxsize=2)
def load_compose_criteria(path: Path = COMPOSE_CRITERIA) -> ComposeCriteria:
    return load(path, ComposeCriteria)


class NumpyAbi(Model):
    numpy_max_exclusive: str
    abi_texts: tuple[str, ...]


def load_numpy_abi(path: Path = NUMPY_ABI) -> NumpyAbi:
    return load(path, NumpyAbi)


class PipException(Model):
    text: str
    reason: str


class PipExceptions(RootModel[dict[str, tuple[PipException, ...]]]):
    """Image name -> the `pip check` lines accepted in it, each with its reason."""


def load_pip_check_exceptions(path: Path = PIP_CHECK_EXCEPTIONS) -> dict[str, tuple[PipException, ...]]:
    return load(path, PipExceptions).root
