"""The facts the device probes print (one JSON document each), as recorded under `fixtures/devices/NAME/probes/`
and as written by a real run under `reports/device/probes/`. A real run and a recording are read by the same
models, so a verdict never knows which it got.

- `gpu-IMAGE.json`: `conformance/device/probes/gpu_probe.py` run inside an image (nodes, linker, torch, TensorRT);
- `tiled.json`: the tiled app natively and in its container on the reference video (FPS, startup, tegrastats);
- `gliner2.json`: the GLiNER2 container's model load and warm latency;
- `soak.json`, `restarts.json`, `two-containers.json`: the stability runs.
Tegrastats output is kept as printed, in `tegrastats/*.txt`, and named here by its relative path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from conformance.config import ConfigError, Model, parse

GPU_PROBE_SCHEMA = "orin-kit/gpu-probe/1"
T = TypeVar("T", bound=BaseModel)


class Node(Model):
    present: bool
    usable: bool  # the probe's user may read and write it


class Library(Model):
    cache: str | None  # where `ldconfig -p` resolves the soname; None when the cache does not list it
    loads: bool  # dlopen succeeded
    error: str | None = None  # dlopen's message


class RuntimeLibrary(Model):
    path: str
    present: bool
    mounted: bool  # a mount point in the container: the runtime put it there


class OwnCopy(Model):
    path: str
    bytes: int = Field(ge=0)


class Conv(Model):
    ran: bool
    device: str | None = None
    cudnn_enabled: bool | None = None
    max_abs_diff: float | None = None  # GPU result against the CPU result of the same convolution
    error: str | None = None


class Torch(Model):
    imported: bool
    version: str | None = None
    cuda_build: str | None = None  # torch.version.cuda
    cuda_available: bool | None = None
    cudnn: int | None = None
    device_name: str | None = None
    conv: Conv | None = None
    returncode: int = 0  # of the child interpreter; negative: killed by a signal
    stderr: str = ""
    error: str | None = None


class Tensor(Model):
    name: str
    shape: tuple[int, ...]
    dtype: str


class EngineFacts(Model):
    path: str
    deserialised: bool
    inputs: tuple[Tensor, ...] = ()
    outputs: tuple[Tensor, ...] = ()
    error: str | None = None


class TensorRT(Model):
    imported: bool
    version: str | None = None
    engine: EngineFacts | None = None  # None when no engine was mounted
    returncode: int = 0
    stderr: str = ""
    error: str | None = None


class GpuProbe(Model):
    """What `gpu_probe.py` found inside one image."""

    schema_: Literal["orin-kit/gpu-probe/1"] = Field(alias="schema")
    image: str
    python: str
    uid: int
    nodes: dict[str, Node]
    linker: dict[str, Library]
    runtime_libraries: tuple[RuntimeLibrary, ...] = ()
    own_copies: tuple[OwnCopy, ...] = ()
    cuda_base: str | None = None  # the image's /usr/local/cuda/version.json, major.minor
    torch: Torch
    tensorrt: TensorRT
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def stderr_texts(self) -> list[str]:
        """What the probe's children printed on failure: matched against the known failures."""
        texts = [self.torch.stderr, self.tensorrt.stderr, self.torch.error or "", self.tensorrt.error or ""]
        texts += [lib.error or "" for lib in self.linker.values()]
        if self.torch.conv is not None:
            texts.append(self.torch.conv.error or "")
        if self.tensorrt.engine is not None:
            texts.append(self.tensorrt.engine.error or "")
        return [t for t in texts if t]


class TegrastatsLog(Model):
    file: str  # relative to the recording (or the run's reports/device/)
    baseline_samples: int = Field(ge=0)  # leading lines taken while idle, before the run started


class AppRun(Model):
    returncode: int
    frames: int | None = None
    fps: float | None = None
    wall_s: float | None = None
    tegrastats: TegrastatsLog
    logs: str = ""


class Startup(Model):
    seconds: float = Field(ge=0)  # `docker run` to the exit of a one-frame run: an upper bound of the first frame
    returncode: int
    logs: str = ""


class TiledRuns(Model):
    schema_: Literal["orin-kit/tiled-runs/1"] = Field(alias="schema")
    video: str
    frames: int
    engine: str
    native: AppRun
    container: AppRun
    startup: Startup
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Gliner2Run(Model):
    schema_: Literal["orin-kit/gliner2-run/1"] = Field(alias="schema")
    model: str
    healthy: bool
    load_s: float | None  # the service's own gliner2_model_load_seconds
    first_request_s: float | None  # the first request (MODEL_PRELOAD=0: it loads the model)
    warm_ms: tuple[float, ...] = ()
    logs: str = ""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Soak(Model):
    schema_: Literal["orin-kit/soak/1"] = Field(alias="schema")
    frames_requested: int
    frames_done: int
    fps: float | None
    returncode: int
    rss_mb: tuple[tuple[float, float], ...]  # (seconds since start, resident MB of the container's processes)
    logs: str = ""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Restart(Model):
    attempt: int
    health: str  # healthy | unhealthy | starting | exited (code N)
    seconds: float


class Restarts(Model):
    schema_: Literal["orin-kit/restarts/1"] = Field(alias="schema")
    image: str
    attempts: tuple[Restart, ...]
    logs: str = ""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SharedRun(Model):
    name: str
    image: str
    memory_limit_mb: int
    peak_mb: float
    oom_killed: bool
    returncode: int
    completed: bool  # did its work (the video processed, the requests answered)
    logs: str = ""


class TwoContainers(Model):
    schema_: Literal["orin-kit/two-containers/1"] = Field(alias="schema")
    order: tuple[str, ...]  # the containers used the GPU one after the other, in this order
    containers: tuple[SharedRun, ...]
    mem_available_before_mb: float
    mem_available_after_mb: float
    tegrastats: TegrastatsLog | None = None
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


#: probe name (file stem under probes/) -> its model; gpu-IMAGE files are GpuProbe.
PROBES: dict[str, type[BaseModel]] = {"tiled": TiledRuns, "gliner2": Gliner2Run, "soak": Soak,
                                      "restarts": Restarts, "two-containers": TwoContainers}


def load_facts(path: Path, model: type[T]) -> T:
    """One probe's JSON facts; a missing or malformed file is a ConfigError naming file, key and value."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    return parse(data, model, path)


def parse_facts(text: str, model: type[T], where: str) -> T:
    """Facts printed by a probe (its stdout); ConfigError when it printed no JSON document of that schema."""
    last = text.strip().splitlines()[-1] if text.strip() else ""
    try:
        data = json.loads(last)
    except json.JSONDecodeError:
        raise ConfigError(f"{where}: expected one JSON document of facts on the last line, found "
                          f"{last[:200]!r}") from None
    return parse(data, model, where)
