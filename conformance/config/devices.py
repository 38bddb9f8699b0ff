"""Device data: which JetPack and CUDA ship with each L4T release (`fixtures/devices/l4t_jetpack.yaml`), what
the device checks hold an Orin and the images to (`fixtures/devices/criteria.yaml`), and how a recorded
device is described (`fixtures/devices/NAME/recording.yaml`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator

from conformance import FIXTURES_DIR
from conformance.config import Model, load

DEVICES_DIR = FIXTURES_DIR / "devices"
L4T_TABLE = DEVICES_DIR / "l4t_jetpack.yaml"
DEVICE_CRITERIA = DEVICES_DIR / "criteria.yaml"
RECORDING_SPEC = "recording.yaml"


class JetPackInfo(Model):
    jetpack: str
    cuda: str


class L4TTable(Model):
    releases: dict[str, JetPackInfo]


@lru_cache(maxsize=4)
def load_l4t_table(path: Path = L4T_TABLE) -> dict[str, JetPackInfo]:
    """L4T version ("36.4.7") -> JetPack and CUDA; raises ConfigError naming file and key."""
    return dict(load(path, L4TTable).releases)


# --- criteria --------------------------------------------------------------------------------------------

class MadeFor(Model):
    """The release the jetson images are built for: the device must run it."""

    l4t: str  # major.minor, e.g. "36.4"
    cuda: str  # major.minor
    tensorrt_major: int
    source: str


class Runtime(Model):
    name: str  # the runtime the containers run under ("nvidia")
    csv_dir: str  # where nvidia-container-runtime reads its mount specs (CSV mode)
    csv_files: tuple[str, ...]  # the spec files that must exist there
    nodes_required: tuple[str, ...]  # device nodes every GPU container needs (/dev/nvmap)
    nodes_any_of: tuple[str, ...]  # the GPU node: one of these (JetPack 6 or JetPack 4/5 naming)
    driver_library: str  # the library drivers.csv must name (libcuda)
    source: str


class ImageNeeds(Model):
    """What one image needs of the GPU inside the container."""

    libraries: tuple[str, ...]  # sonames that must resolve through the container's linker cache
    torch: bool = False  # torch must see CUDA and run a convolution on the GPU
    tensorrt: bool = False  # TensorRT must deserialise the mounted engine


class Engine(Model):
    batch: int = Field(gt=0)
    source: str


class Tiled(Model):
    container_fps_ratio_min: float = Field(gt=0, le=1)  # container FPS / native FPS
    frames: int = Field(gt=0)  # reference video length of the FPS and memory runs
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    source: str


class Gliner2(Model):
    warm_requests: int = Field(gt=0)
    source: str


class Soak(Model):
    frames: int = Field(gt=0)
    warmup_s: float = Field(ge=0)  # RSS samples before this are the warm-up, not growth
    source: str


class Restarts(Model):
    count: int = Field(gt=0)
    healthy_within_s: float = Field(gt=0)
    source: str


class TwoContainers(Model):
    memory_limit_mb: int = Field(gt=0)
    free_memory_back_mb: float = Field(gt=0)  # MemAvailable afterwards may be this much below before
    source: str


class GpuParity(Model):
    detector_atol: float = Field(gt=0)
    gliner2_atol: float = Field(gt=0)
    source: str


class DeviceCriteria(Model):
    made_for: MadeFor
    runtime: Runtime
    images: dict[str, ImageNeeds]
    engine: Engine
    tiled: Tiled
    gliner2: Gliner2
    soak: Soak
    restarts: Restarts
    two_containers: TwoContainers
    gpu_parity: GpuParity


@lru_cache(maxsize=4)
def load_device_criteria(path: Path = DEVICE_CRITERIA) -> DeviceCriteria:
    return load(path, DeviceCriteria)


# --- recordings --------------------------------------------------------------------------------------------

class RecordingSpec(Model):
    """`recording.yaml` of a recorded device: what it stands for and, for a broken device, which good
    recording it changes (its files replace the base's; `removed` lists base paths absent on this device)."""

    stands_for: str
    written: str  # how the files were made (formats, sources); a recording is never a measurement
    base: str | None = None
    removed: tuple[str, ...] = ()

    @field_validator("removed")
    @classmethod
    def _relative(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [p for p in value if p.startswith("/") or ".." in Path(p).parts]
        if bad:
            raise ValueError(f"expected paths relative to the recording, found {bad}")
        return value


def load_recording_spec(directory: Path) -> RecordingSpec:
    return load(directory / RECORDING_SPEC, RecordingSpec)
