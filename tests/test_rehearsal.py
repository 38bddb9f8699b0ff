"""The arm64 rehearsal's parts that need no emulation: whether this machine can emulate aarch64, ELF machines,
root recipes, and that what the rehearsal replays is in the self-proof table. The rehearsal itself runs in CI
(`python -m conformance rehearse`, a phase of .ci/run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.config.rehearsal import RootRecipe, load_rehearsal
from conformance.config.selfproof import load_selfproof_table
from conformance.device.recordings import available as recording_names
from conformance.nms.library import DEFAULT_LIB
from conformance.rehearsal import RehearsalError
from conformance.rehearsal.emulation import aarch64_problem
from conformance.rehearsal.steps import elf_machine
from conformance.selfproof import PLACEHOLDER


@pytest.fixture
def binfmt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/sbin/{name}")
    return tmp_path


def test_no_qemu_handler_names_the_packages_and_commands(binfmt: Path) -> None:
    problem = aarch64_problem(binfmt)
    assert problem and "qemu-user-static" in problem and "update-binfmts --enable qemu-aarch64" in problem, problem


def test_a_disabled_handler_is_named(binfmt: Path) -> None:
    (binfmt / "qemu-aarch64").write_text("disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n")
    assert "disabled" in str(aarch64_problem(binfmt))


def test_an_enabled_handler_is_enough(binfmt: Path) -> None:
    (binfmt / "qemu-aarch64").write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n")
    assert aarch64_problem(binfmt) is None


def test_elf_machine_reads_the_host_library_and_refuses_other_files(tmp_path: Path) -> None:
    if not DEFAULT_LIB.is_file():
        pytest.skip(f"{DEFAULT_LIB} is not built (make setup)")
    assert elf_machine(DEFAULT_LIB) in (62, 183), "x86-64 is 62, aarch64 183"
    text = tmp_path / "x.so"
    text.write_text("not a library")
    with pytest.raises(RehearsalError, match="not an ELF file"):
        elf_machine(text)


def test_a_changed_recipe_names_another_root() -> None:
    recipe = load_rehearsal().root
    other = RootRecipe(suite=recipe.suite, python_version=recipe.python_version, packages=(*recipe.packages, "gdb"))
    assert recipe.digest() != other.digest(), "a root with other packages must not be reused"


def test_the_rehearsal_replays_recordings_and_known_bads_that_exist() -> None:
    plan = load_rehearsal()
    table = load_selfproof_table()
    missing = [name for name in plan.known_bads if name not in table]
    assert not missing, f"fixtures/rehearsal/arm64.yaml names known-bads {missing} not in fixtures/selfproof/"
    host_made = [name for name in plan.known_bads
                 if table[name].needs or any(PLACEHOLDER.search(arg) for arg in table[name].args)]
    assert not host_made, f"known-bads {host_made} need inputs made on the host; expected broken recordings only"
    assert len(plan.known_bads) >= 3, "the rehearsal must show at least three broken devices failing"
    assert set(plan.good_recordings) <= set(recording_names()), (
        f"unknown recordings in fixtures/rehearsal/arm64.yaml: {set(plan.good_recordings) - set(recording_names())}")


def test_the_images_rehearsal_names_locks_and_checks_that_exist() -> None:
    from conformance import CHECKS_DIR, IMAGES_DIR, SOURCE_ROOT

    images = load_rehearsal().images
    missing = [lock for lock in images.locks if not (IMAGES_DIR / lock).is_file()]
    assert not missing and (SOURCE_ROOT / images.torch_lock).is_file(), f"missing locks: {missing}"
    sources = "".join(path.read_text() for path in (CHECKS_DIR / "images").glob("test_*.py"))
    unknown = [name for name in images.checks if f"def {name}(" not in sources]
    assert not unknown, f"fixtures/rehearsal/arm64.yaml names image checks that do not exist: {unknown}"


def test_only_roots_unused_for_a_day_are_removed(tmp_path: Path) -> None:
    import os
    import time

    from conformance.rehearsal.rootfs import STALE_AFTER_S, remove_stale

    for name in ("root-new", "root-fresh", "root-old"):
        (tmp_path / name).mkdir()
        (tmp_path / name / ".complete").write_text("{}")
    old = time.time() - STALE_AFTER_S - 60
    os.utime(tmp_path / "root-old" / ".complete", (old, old))
    remove_stale(tmp_path, "root-*", tmp_path / "root-new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root-fresh", "root-new"], (
        "a root another run may still use must stay; one unused for a day goes")
