"""Disk room before a run: `engine prune` removes only what no later run reuses, removes all of the kit's images
and build cache only when that is not enough, and stops in one line when even that is not enough; a build that
runs out of disk says so before the log's tail."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.config import ConfigError
from conformance.config.engine import DiskPolicy, load_disk_policy
from conformance.docker import disk
from conformance.docker.builder import Builder, ImageBuildError, build_image
from conformance.docker.engine import EngineError
from conformance.docker.images import IMAGE_LABEL, INPUT_LABEL

POLICY = load_disk_policy()
NEED = round(POLICY.run_needs_gb * disk.GB)
#: The line the CI run of 2026-11-30 died on, twenty minutes in, when old checkouts had filled the disk.
NO_SPACE = "#8 11.12 ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"


class FakeDocker:
    """Records the docker arguments it is given; frees `frees_gb` per prune (all of it for --all ones)."""

    def __init__(self, free_gb: float, frees_gb: dict[bool, float], fail: str = "") -> None:
        self.free = round(free_gb * disk.GB)
        self.frees = frees_gb
        self.fail = fail
        self.calls: list[list[str]] = []

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        if self.fail:
            return subprocess.CompletedProcess(list(args), 1, "", self.fail)
        everything = "--all" in args and not any(a.startswith("until=") for a in args)
        self.free += round(self.frees[everything] * disk.GB / 3)  # each of the 3 commands frees a third
        return subprocess.CompletedProcess(list(args), 0, "Total reclaimed space: 0B\n", "")

    def measure(self, path: str, policy: DiskPolicy) -> disk.Room:
        return disk.Room(path, self.free, round(policy.run_needs_gb * disk.GB))


def make_room(fake: FakeDocker, check: bool = True) -> tuple[disk.Room, list[str]]:
    said: list[str] = []
    found = disk.make_room("docker", POLICY, check=check, path="/var/lib/docker", run=fake.run,
                           measure=fake.measure, say=said.append)
    return found, said


def test_with_room_enough_only_what_no_run_reuses_is_pruned() -> None:
    fake = FakeDocker(free_gb=POLICY.run_needs_gb + 5, frees_gb={False: 3, True: 30})
    found, said = make_room(fake)
    assert found.enough and said == [f"disk: {found.describe()}"], said
    assert fake.calls == [
        ["image", "prune", "--force"],
        ["image", "prune", "--all", "--force", "--filter", f"label={INPUT_LABEL}",
         "--filter", f"until={POLICY.keep.images_hours}h"],
        ["builder", "prune", "--force", "--keep-storage", f"{POLICY.keep.build_cache_gb:g}GB"],
    ], "the gentle prune keeps the recent images and the build cache a later run reuses"


def test_short_of_room_all_of_the_kits_images_and_cache_go_and_the_bases_stay() -> None:
    fake = FakeDocker(free_gb=POLICY.run_needs_gb - 10, frees_gb={False: 3, True: 30})
    found, said = make_room(fake)
    assert found.enough, found
    assert "removing all of the kit's images and build cache" in said[0], said
    removed = fake.calls[3:]
    assert removed == [["image", "prune", "--all", "--force", "--filter", f"label={IMAGE_LABEL}"],
                       ["image", "prune", "--all", "--force", "--filter", f"label={INPUT_LABEL}"],
                       ["builder", "prune", "--all", "--force"]], removed
    assert all("--filter" in c for c in fake.calls if c[0] == "image" and "--all" in c), (
        "an unfiltered `image prune --all` would remove the stand-in bases, which need debootstrap to rebuild")


def test_still_short_of_room_is_one_line_naming_what_is_free_what_is_needed_and_the_fix() -> None:
    fake = FakeDocker(free_gb=4.1, frees_gb={False: 0, True: 0})
    with pytest.raises(EngineError) as failure:
        make_room(fake)
    message = str(failure.value)
    assert "\n" not in message, message
    assert message.startswith("not enough disk for a run: 4.1 GB free under /var/lib/docker, a run needs "
                              f"{POLICY.run_needs_gb:.0f} GB (fixtures/engine/disk.yaml)"), message
    assert "data-root" in message and "docker system df" in message, message


def test_without_the_check_a_short_disk_is_reported_not_failed() -> None:
    fake = FakeDocker(free_gb=4.1, frees_gb={False: 0, True: 0})
    found, said = make_room(fake, check=False)
    assert not found.enough and len(fake.calls) == 3, "--no-check prunes gently and never removes everything"
    assert said == ["disk: 4.1 GB free under /var/lib/docker, a run needs "
                    f"{POLICY.run_needs_gb:.0f} GB"], said


def test_a_prune_docker_refuses_names_the_command_and_dockers_first_line() -> None:
    fake = FakeDocker(free_gb=100, frees_gb={False: 0, True: 0},
                      fail="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\nmore")
    with pytest.raises(EngineError, match=r"^`docker image prune --force` failed \(exit 1\): Cannot connect to the "
                                          r"Docker daemon at unix:///var/run/docker.sock\.$"):
        make_room(fake)


def test_the_room_measured_is_the_filesystems_free_space(tmp_path: Path) -> None:
    import shutil

    before = shutil.disk_usage(tmp_path).free
    found = disk.room(str(tmp_path), POLICY)
    assert found.need_bytes == NEED
    assert abs(found.free_bytes - before) < 256 * 2**20, (found, before)


def test_a_disk_policy_needing_nothing_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "disk.yaml"
    bad.write_text("run_needs_gb: 0\nkeep: {images_hours: 24, build_cache_gb: 10}\n")
    with pytest.raises(ConfigError, match=r"disk.yaml: run_needs_gb: .*greater than 0"):
        load_disk_policy(bad)


def test_engine_prune_without_an_engine_is_one_error_line(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.docker import engine

    monkeypatch.setattr(engine, "engine_problem", lambda docker=None: "no Docker engine answers at unix:///x")
    assert main(["engine", "prune"]) == 2
    assert capsys.readouterr().err == "error: no Docker engine answers at unix:///x\n"


@pytest.mark.parametrize(("last_line", "diagnosed"), [
    pytest.param(NO_SPACE, True, id="disk-full"),
    pytest.param("#8 4.2 ERROR: No matching distribution found for torch==9.9", False, id="other-failure"),
])
def test_a_build_that_runs_out_of_disk_says_so_before_the_logs_tail(tmp_path: Path, last_line: str,
                                                                     diagnosed: bool) -> None:
    docker = tmp_path / "docker"
    docker.write_text(f"#!/bin/sh\necho '#8 [stage-0 4/13] RUN pip install torch'\necho '{last_line}'\nexit 1\n")
    docker.chmod(0o755)
    with pytest.raises(ImageBuildError) as failure:
        build_image(Builder("classic-buildkit", str(docker)), tmp_path / "Dockerfile", "orin-kit/x:t", {},
                    tmp_path / "build.log", tmp_path)
    first_line = str(failure.value).splitlines()[0]
    assert ("; diagnosis: disk-full: the filesystem is full" in first_line) is diagnosed, first_line
    assert ("conformance engine prune" in first_line) is diagnosed, first_line
    assert str(failure.value).splitlines()[-1] == last_line, "the log's tail still follows"
