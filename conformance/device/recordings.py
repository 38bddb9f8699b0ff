"""Recorded devices (`fixtures/devices/NAME/`): the facts a SIMULATED run replays instead of probing.

A recording is a filesystem root in L4T's formats (`etc/nv_tegra_release`, `proc/device-tree/*`,
`usr/local/cuda/version.json`, the GPU device nodes as empty files, the runtime's CSV mount specs), plus
`docker-info.json` (`docker info --format '{{json .}}'`), `probes/*.json` (what each probe printed) and
`tegrastats/*.txt` (tegrastats lines as printed). A broken device names a good one as its `base` in
`recording.yaml`: its own files replace the base's and `removed` deletes base paths, so each broken recording
holds only what is broken. The resolved tree is materialised once per session in a temporary directory.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from conformance.config import ConfigError
from conformance.config.devices import DEVICES_DIR, RECORDING_SPEC, RecordingSpec, load_recording_spec
from conformance.config.probes import GpuProbe, load_facts

DOCKER_INFO = "docker-info.json"
PROBES = "probes"
T = TypeVar("T", bound=BaseModel)


class RecordingError(ValueError):
    """No such recording, or one whose base chain is broken."""


def available(directory: Path = DEVICES_DIR) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if (p / RECORDING_SPEC).is_file())


def locate(name: str, directory: Path = DEVICES_DIR) -> Path:
    """A recording given by name (a folder of fixtures/devices/) or by path."""
    path = Path(name)
    candidates = [path] if path.is_absolute() or len(path.parts) > 1 else [directory / name, path]
    for candidate in candidates:
        if (candidate / RECORDING_SPEC).is_file():
            return candidate.resolve()
    raise RecordingError(f"--simulate-device {name}: no such recording; expected a folder with {RECORDING_SPEC}, "
                         f"one of {', '.join(available(directory))} (fixtures/devices/)")


def _chain(source: Path) -> list[tuple[Path, RecordingSpec]]:
    """The recording and its bases, base-most first."""
    chain: list[tuple[Path, RecordingSpec]] = []
    seen: set[Path] = set()
    current: Path | None = source
    while current is not None:
        if current in seen:
            raise RecordingError(f"{source}: the base chain of recordings loops at {current.name}")
        seen.add(current)
        try:
            spec = load_recording_spec(current)
        except ConfigError as error:
            raise RecordingError(str(error)) from None
        chain.append((current, spec))
        current = None
        if spec.base is not None:
            current = (source.parent / spec.base).resolve()
            if not (current / RECORDING_SPEC).is_file():
                raise RecordingError(f"{chain[-1][0] / RECORDING_SPEC}: base: no recording {spec.base!r} beside it")
    return list(reversed(chain))


@dataclass
class Recording:
    """A recorded device, resolved: `root` holds every file of the device, its own and its bases'."""

    name: str
    source: Path
    spec: RecordingSpec
    root: Path
    _scratch: Path | None = field(default=None, repr=False)

    @classmethod
    def open(cls, name: str, directory: Path = DEVICES_DIR) -> Recording:
        source = locate(name, directory)
        chain = _chain(source)
        spec = chain[-1][1]
        if len(chain) == 1:
            return cls(source.name, source, spec, source)
        scratch = Path(tempfile.mkdtemp(prefix=f"orin-kit-{source.name}-"))
        root = scratch / source.name
        for folder, layer in chain:
            for rel in layer.removed:
                target = root / rel
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
            shutil.copytree(folder, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(RECORDING_SPEC))
        return cls(source.name, source, spec, root, scratch)

    def close(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def label(self) -> str:
        """How results name their source: 'SIMULATED from the recording NAME (...)'."""
        return f"recording {self.name} ({self.spec.stands_for})"

    def docker_info(self) -> dict[str, Any] | None:
        path = self.root / DOCKER_INFO
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"{self.source / DOCKER_INFO}: not JSON ({error.msg} at line {error.lineno})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.source / DOCKER_INFO}: expected `docker info --format '{{{{json .}}}}'` output "
                              f"(a JSON object), found {type(data).__name__}")
        return data

    def has(self, probe: str) -> bool:
        return (self.root / PROBES / f"{probe}.json").is_file()

    def facts(self, probe: str, model: type[T]) -> T:
        """What probe `probe` printed on the recorded device."""
        path = self.root / PROBES / f"{probe}.json"
        if not path.is_file():
            raise ConfigError(f"{self.source}: the recording has no {PROBES}/{probe}.json; expected the facts "
                              "of every probe (record them with a real run: docs/device.md)")
        return load_facts(path, model)

    def gpu_probe(self, image: str) -> GpuProbe:
        return self.facts(f"gpu-{image}", GpuProbe)

    def text(self, relative: str) -> str:
        path = self.root / relative
        if not path.is_file():
            raise ConfigError(f"{self.source}: the recording has no {relative}")
        return path.read_text(errors="replace")
