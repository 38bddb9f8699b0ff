"""Device profiles: the thresholds each target must meet, loaded and validated from `fixtures/profiles/*.yaml`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance import FIXTURES_DIR
from conformance.device import DeviceInfo

PROFILES_DIR = FIXTURES_DIR / "profiles"
GENERIC_PROFILE = "generic-host"


class ProfileError(ValueError):
    """A profile file is missing, malformed, or names no known profile; the message names file and field."""


@dataclass(frozen=True)
class Thresholds:
    """Limits a device must meet. Sources are given per field in the profile files (seed 001 for most)."""

    tiled_fps_min: float  # end-to-end FPS of the b8 tiled pipeline with the real engine
    memory_overhead_mb_max: float  # container memory over native
    startup_s_max: float  # container start to first frame processed
    image_size_gb_max: float
    build_minutes_max: float
    rss_growth_mb_max: float  # RSS growth over 1,000 frames
    health_p99_ms_max: float  # GLiNER2 /health p99 while inferences run
    docker_stop_s_max: float  # `docker stop` to exit, with tini as PID 1
    microbatch_speedup_min: float  # 16-client throughput, micro-batched vs one at a time
    warm_rebuild_ratio_max: float  # warm rebuild after a requirements edit, as a fraction of the cold build


@dataclass(frozen=True)
class Match:
    """How a device is recognised: a device-tree `compatible` entry, or model text plus memory size."""

    compatible: tuple[str, ...] = ()
    model_contains: str | None = None
    mem_total_gb: tuple[float, float] | None = None

    def matches(self, device: DeviceInfo) -> bool:
        if set(self.compatible) & set(device.compatible):
            return True
        if self.model_contains and device.model and self.model_contains in device.model:
            if self.mem_total_gb is None or device.mem_total_mb is None:
                return self.mem_total_gb is None
            low, high = self.mem_total_gb
            return low <= device.mem_total_mb / 1024 <= high
        return False


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    jetson: bool
    jetpack_major: int | None
    thresholds: Thresholds
    match: Match
    path: Path


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ProfileError(f"{where}: field '{key}' is missing")
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # YAML's true/false are ints to Python: a threshold of `true` is a typo, not 1.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ProfileError(f"{where}: field '{key}' must be {_kind_name(kind)}, but got {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"int": "a number", "float": "a number", "str": "a string", "bool": "true/false",
             "dict": "a mapping", "list": "a list"}
    return " or ".join(dict.fromkeys(names.get(k.__name__, k.__name__) for k in kinds))


def load_profile(path: Path) -> Profile:
    """Load and validate one profile file; every problem is a ProfileError naming the file and the field."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ProfileError(f"{where}: no such profile file") from None
    except yaml.YAMLError as error:
        raise ProfileError(f"{where}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a mapping of fields, but got {type(data).__name__}")
    name = _require(data, "name", str, where)
    if name != path.stem:
        raise ProfileError(f"{where}: field 'name' must equal the file name {path.stem!r}, but got {name!r}")
    raw_thresholds = _require(data, "thresholds", dict, where)
    values: dict[str, float] = {}
    for spec in dataclasses.fields(Thresholds):
        value = _require(raw_thresholds, spec.name, (int, float), f"{where}: thresholds")
        if value <= 0:
            raise ProfileError(f"{where}: thresholds: field '{spec.name}' must be > 0, but got {value!r}")
        values[spec.name] = float(value)
    unknown = set(raw_thresholds) - set(values)
    if unknown:
        raise ProfileError(f"{where}: thresholds: unknown field(s) {', '.join(sorted(unknown))}; "
                           f"expected only {', '.join(values)}")
    raw_match = data.get("match") or {}
    if not isinstance(raw_match, dict):
        raise ProfileError(f"{where}: field 'match' must be a mapping, but got {raw_match!r}")
    mem = raw_match.get("mem_total_gb")
    if mem is not None and not (isinstance(mem, list) and len(mem) == 2 and all(
            isinstance(v, (int, float)) for v in mem)):
        raise ProfileError(f"{where}: match: field 'mem_total_gb' must be [low, high] in GB, but got {mem!r}")
    jetson = _require(data, "jetson", bool, where)
    jetpack_major = data.get("jetpack_major")
    if jetson and not isinstance(jetpack_major, int):
        raise ProfileError(f"{where}: field 'jetpack_major' must be an integer for a Jetson profile, "
                           f"but got {jetpack_major!r}")
    return Profile(
        name=name,
        description=str(data.get("description", "")),
        jetson=jetson,
        jetpack_major=jetpack_major if jetson else None,
        thresholds=Thresholds(**values),
        match=Match(tuple(raw_match.get("compatible") or ()), raw_match.get("model_contains"),
                    (float(mem[0]), float(mem[1])) if mem else None),
        path=path,
    )


def load_profiles(directory: Path = PROFILES_DIR) -> dict[str, Profile]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ProfileError(f"{directory}: no profile files (*.yaml)")
    return {profile.name: profile for profile in map(load_profile, files)}


@dataclass(frozen=True)
class ProfileChoice:
    profile: Profile
    reason: str


def choose_profile(device: DeviceInfo, forced: str | None = None,
                   directory: Path = PROFILES_DIR) -> ProfileChoice:
    """The forced profile, else the first Jetson profile matching the device, else the generic host profile."""
    profiles = load_profiles(directory)
    if forced is not None:
        if forced not in profiles:
            raise ProfileError(f"--profile {forced!r}: no such profile; expected one of {', '.join(profiles)}")
        return ProfileChoice(profiles[forced], "forced with --profile")
    for profile in profiles.values():
        if profile.jetson and profile.match.matches(device):
            via = ", ".join(set(profile.match.compatible) & set(device.compatible)) or repr(device.model)
            return ProfileChoice(profile, f"device matches {via}")
    if GENERIC_PROFILE not in profiles:
        raise ProfileError(f"{directory}: no '{GENERIC_PROFILE}.yaml' to fall back to")
    reason = device.why_not_jetson() if not device.is_jetson else (
        f"Jetson {device.model!r} matches no Jetson profile")
    return ProfileChoice(profiles[GENERIC_PROFILE], reason)
