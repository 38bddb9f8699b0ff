"""Disk room for a run: prune the kit's stale images and build cache, then check the free space under Docker's
data root against what a run needs (`fixtures/engine/disk.yaml`).

A full disk fails a run late and far from its cause (a build step dies with `No space left on device` twenty
minutes in), so `.ci/run` makes room before it builds anything and stops in one line when there is not enough.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from conformance.config.engine import DiskPolicy
from conformance.docker.engine import EngineError, _run, docker_info
from conformance.docker.images import IMAGE_LABEL, INPUT_LABEL

#: Docker's units (`docker system df`, `--keep-storage`) are decimal.
GB = 10**9

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class Room:
    """Free bytes on the filesystem of `path` (Docker's data root) against the bytes a run needs."""

    path: str
    free_bytes: int
    need_bytes: int

    @property
    def enough(self) -> bool:
        return self.free_bytes >= self.need_bytes

    def describe(self) -> str:
        return f"{self.free_bytes / GB:.1f} GB free under {self.path}, a run needs {self.need_bytes / GB:.0f} GB"


def docker_root(docker: str) -> str:
    """Docker's data root (`docker info`'s DockerRootDir): where images and build cache take their disk."""
    return str(docker_info(docker).get("DockerRootDir") or "/var/lib/docker")


def room(path: str, policy: DiskPolicy) -> Room:
    return Room(path, shutil.disk_usage(path).free, round(policy.run_needs_gb * GB))


def prune_commands(policy: DiskPolicy, everything: bool) -> list[list[str]]:
    """The docker arguments that prune: what no later run reuses (dangling images, the kit's images of inputs
    older than `keep.images_hours`, build cache over `keep.build_cache_gb`) or, with `everything`, all of the
    kit's images (the stand-in bases stay: they carry neither label) and all build cache."""
    if everything:
        return [*(["image", "prune", "--all", "--force", "--filter", f"label={label}"]
                  for label in (IMAGE_LABEL, INPUT_LABEL)),
                ["builder", "prune", "--all", "--force"]]
    return [["image", "prune", "--force"],
            ["image", "prune", "--all", "--force", "--filter", f"label={INPUT_LABEL}",
             "--filter", f"until={policy.keep.images_hours}h"],
            ["builder", "prune", "--force", "--keep-storage", f"{policy.keep.build_cache_gb:g}GB"]]


def prune(docker: str, policy: DiskPolicy, everything: bool = False, run: Runner | None = None) -> None:
    """Run the prune commands; a failing one is an EngineError naming it and docker's first error line."""
    for args in prune_commands(policy, everything):
        # A prune of a large build cache takes minutes on a slow disk.
        result = run(args) if run else _run([docker, *args], timeout=1800)
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["no message"])[0]
            raise EngineError(f"`docker {' '.join(args)}` failed (exit {result.returncode}): {first}")


def make_room(docker: str, policy: DiskPolicy, check: bool = True, path: str | None = None,
              run: Runner | None = None, measure: Callable[[str, DiskPolicy], Room] = room,
              say: Callable[[str], object] = print) -> Room:
    """Prune what no later run reuses; when that leaves less than a run needs, all of the kit's images and
    build cache too. Returns the room left; raises EngineError when it is still short (unless not `check`)."""
    path = path or docker_root(docker)
    prune(docker, policy, run=run)
    found = measure(path, policy)
    if found.enough or not check:
        say(f"disk: {found.describe()}")
        return found
    say(f"disk: {found.describe()}: removing all of the kit's images and build cache")
    prune(docker, policy, everything=True, run=run)
    found = measure(path, policy)
    if not found.enough:
        raise EngineError(f"not enough disk for a run: {found.describe()} (fixtures/engine/disk.yaml), with the "
                          "kit's images and build cache already removed; free space on that filesystem (old "
                          "checkouts, other images: `docker system df`) or move Docker's data root to a larger "
                          "disk (`data-root` in /etc/docker/daemon.json)")
    say(f"disk: {found.describe()}")
    return found
