"""The local engine's data: the stand-in base images it builds (`fixtures/engine/stand_in_bases.yaml`) and the disk
a run needs under its data root (`fixtures/engine/disk.yaml`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import Field

from conformance import FIXTURES_DIR
from conformance.config import Model, load

STAND_IN_SPEC = FIXTURES_DIR / "engine" / "stand_in_bases.yaml"


class BaseEntry(Model):
    tag: str
    packages: tuple[str, ...]
    parent: str | None = Field(default=None, alias="from")


class StandInFile(Model):
    suite: str
    mirror: str
    bases: tuple[BaseEntry, ...]


class BaseSpec(Model):
    """One stand-in base; `digest` hashes its spec, so a changed spec rebuilds the base."""

    tag: str
    packages: tuple[str, ...]
    parent: str | None
    digest: str


def load_base_specs(path: Path = STAND_IN_SPEC) -> tuple[str, str, list[BaseSpec]]:
    """(suite, mirror, bases) of the stand-in base file; raises ConfigError naming file and key."""
    data = load(path, StandInFile)
    specs = []
    for entry in data.bases:
        digest = hashlib.sha256(repr((data.suite, data.mirror, entry.packages, entry.parent)).encode()).hexdigest()
        specs.append(BaseSpec(tag=entry.tag, packages=entry.packages, parent=entry.parent, digest=digest[:16]))
    return data.suite, data.mirror, specs


DISK_POLICY = FIXTURES_DIR / "engine" / "disk.yaml"


class DiskKeep(Model):
    images_hours: int = Field(gt=0)
    build_cache_gb: float = Field(ge=0)


class DiskPolicy(Model):
    """The free disk a run needs under Docker's data root, and what pruning keeps for later runs."""

    run_needs_gb: float = Field(gt=0)
    keep: DiskKeep


def load_disk_policy(path: Path = DISK_POLICY) -> DiskPolicy:
    """The disk policy; raises ConfigError naming file and key."""
    return load(path, DiskPolicy)
