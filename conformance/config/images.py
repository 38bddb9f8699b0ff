"""What the image checks expect: variants and image specs, the wheelhouse, compose, numpy ABI and pip data.

Files: `fixtures/images/{variants,wheelhouse,compose_criteria,numpy_abi,pip_check_exceptions}.yaml`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, RootModel, model_validator

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
    #: distributions pip must install with --no-deps only (seed 000 "gliner / gliner2 Installation Strategy")
    no_deps_packages: tuple[str, ...] = ()
    #: modules the app imports lazily when it serves (imported after app_module by the onnxruntime check)
    runtime_imports: tuple[str, ...] = ()
    #: distributions that must not be installed (seed 000 "ONNX Runtime Decision")
    must_be_absent: tuple[str, ...] = ("onnxruntime", "onnxruntime-gpu")
    #: environment the image must set, and arguments its command must carry (seed 000 "Uvicorn / Startup")
    required_env: dict[str, str] = {}
    required_args: tuple[str, ...] = ()
    #: how the health-check proof makes the image unhealthy while its container runs
    health_break: HealthBreak | None = None
    #: the exact pinned torch wheel file name, for an image taken as given (a build reads TORCH_WHEEL_URL)
    torch_wheel: str | None = None


class HealthBreak(Model):
    """One way to make a running container unhealthy: freeze the service, or hide a path it needs."""

    stop_service: bool = False  # SIGSTOP every process but PID 1's init: a service that stops answering
    hide: str | None = None  # an empty tmpfs over this path: the native pieces the health check loads vanish

    @model_validator(mode="after")
    def _exactly_one(self) -> HealthBreak:
        if self.stop_service == (self.hide is not None):
            raise ValueError("expected exactly one of stop_service: true or hide: PATH")
        return self


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
    devices: tuple[str, ...]


class ComposeLogging(Model):
    driver: str
    max_size: str = Field(alias="max-size")
    max_file: str = Field(alias="max-file")


class ComposeService(Model):
    """What one service of the compose files must be: long-running (healthy) or batch (exits 0)."""

    kind: Literal["service", "batch"]
    image_variable: str
    restart: Literal["no", "always", "on-failure", "unless-stopped"]
    shm_size_min_mb: int = Field(gt=0)


class ComposeCriteria(Model):
    base: str
    jetson_override: str
    services: dict[str, ComposeService]
    read_only_targets: tuple[str, ...]
    read_write_targets: tuple[str, ...]
    logging: ComposeLogging
    gpu_environment: tuple[str, ...]
    gpu_device_prefix: str
    jetson: ComposeJetson
    batch_wait_s: float = Field(gt=0)

    def kinds(self) -> dict[str, str]:
        return {name: service.kind for name, service in self.services.items()}


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
