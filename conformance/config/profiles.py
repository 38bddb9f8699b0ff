"""Device profiles: the thresholds each target must meet (`fixtures/profiles/*.yaml`), and which one applies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, model_validator

from conformance import FIXTURES_DIR
from conformance.config import ConfigError, Model, parse, read_yaml

PROFILES_DIR = FIXTURES_DIR / "profiles"
GENERIC_PROFILE = "generic-host"

Positive = Annotated[float, Field(gt=0, strict=True)]


class ProfileError(ConfigError):
    """A profile file is missing, malformed, or names no known profile; the message names file and field."""


class Thresholds(Model):
    """Limits a device must meet. Each profile file gives the source of each value (seed 001 for most)."""

    tiled_fps_min: Positive  # end-to-end FPS of the b8 tiled pipeline with the real engine
    memory_overhead_mb_max: Positive  # container memory over native
    startup_s_max: Positive  # container start to first frame processed
    image_size_gb_max: Positive
    build_minutes_max: Positive
    rss_growth_mb_max: Positive  # RSS growth over 1,000 frames
    tiled_host_ms_max: Positive  # host CPU per 1080p frame with the model on a GPU (slice, decode, merge, track)
    health_p99_ms_max: Positive  # GLiNER2 /health p99 while inferences run
    docker_stop_s_max: Positive  # `docker stop` to exit, with tini as PID 1
    microbatch_speedup_min: Positive  # 16-client throughput, micro-batched vs one at a time
    warm_rebuild_ratio_max: Positive  # warm rebuild after a requirements edit, as a fraction of the cold build
    image_size_budget_gb: dict[str, Positive]  # per image of the catalogue: its measured size plus a margin
    deployment_s_max: Positive  # `docker compose up` to every service ready (healthy, or its batch run done)
    gliner2_warm_ms_max: Positive  # GLiNER2 warm request p95 on the device (model load: startup_s_max)


class Match(Model):
    """How a device is recognised: a device-tree `compatible` entry, or model text plus memory size."""

    compatible: tuple[str, ...] = ()
    model_contains: str | None = None
    mem_total_gb: tuple[float, float] | None = None

    def matches(self, device: Any) -> bool:
        if set(self.compatible) & set(device.compatible):
            return True
        if self.model_contains and device.model and self.model_contains in device.model:
            if self.mem_total_gb is None or device.mem_total_mb is None:
                return self.mem_total_gb is None
            low, high = self.mem_total_gb
            return low <= device.mem_total_mb / 1024 <= high
        return False


class Profile(Model):
    name: str
    description: str = ""
    jetson: bool
    jetpack_major: int | None = None
    match: Match = Match()
    thresholds: Thresholds
    path: Path = Path()

    @model_validator(mode="after")
    def _jetson_needs_jetpack(self) -> Profile:
        if self.jetson and self.jetpack_major is None:
            raise ValueError("a Jetson profile needs 'jetpack_major' (an integer)")
        return self


def load_profile(path: Path) -> Profile:
    """Load and validate one profile file; every problem is a ProfileError naming the file and the key."""
    try:
        data = read_yaml(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of fields, found {type(data).__name__}")
        profile = parse({**data, "path": path}, Profile, path)
    except ProfileError:
        raise
    except ConfigError as error:
        raise ProfileError(str(error)) from None
    if profile.name != path.stem:
        raise ProfileError(f"{path}: name: expected the file name {path.stem!r}, found {profile.name!r}")
    return profile


def load_profiles(directory: Path = PROFILES_DIR) -> dict[str, Profile]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ProfileError(f"{directory}: no profile files (*.yaml)")
    return {profile.name: profile for profile in map(load_profile, files)}


@dataclass(frozen=True)
class ProfileChoice:
    profile: Profile
    reason: str


def choose_profile(device: Any, forced: str | None = None, directory: Path = PROFILES_DIR) -> ProfileChoice:
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
