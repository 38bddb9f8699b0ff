"""What the arm64 rehearsal builds and runs: `fixtures/rehearsal/arm64.yaml`."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conformance import FIXTURES_DIR
from conformance.config import Model, load

ARM64_REHEARSAL = FIXTURES_DIR / "rehearsal" / "arm64.yaml"


class RootRecipe(Model):
    """A Debian arm64 root made by debootstrap: its suite and the packages it carries."""

    suite: str
    python_version: str
    packages: tuple[str, ...]

    def digest(self) -> str:
        """What names a cached root: a changed recipe is another root."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class ImagesRehearsal(Model):
    """The images built for arm64 on stand-ins, and the checks they must pass there."""

    #: the recording whose /etc/nv_tegra_release the stand-in base carries
    release_from: str
    #: the stand-in for the Jetson torch wheel (a kit lock, relative to the checkout)
    torch_lock: str
    #: the images' own locks for what they install besides torch (relative to the images tree)
    locks: tuple[str, ...]
    #: names of the image checks run against them (pytest -k terms)
    checks: tuple[str, ...]


class Rehearsal(Model):
    root: RootRecipe
    images: ImagesRehearsal
    lock: str
    good_recordings: tuple[str, ...]
    known_bads: tuple[str, ...]
    nms_tests: tuple[str, ...]
    nms_args: tuple[str, ...] = ()
    step_timeout_s: float


def load_rehearsal(path: Path = ARM64_REHEARSAL) -> Rehearsal:
    return load(path, Rehearsal)
