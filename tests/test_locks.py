"""Locks: the kit's venv and the images' wheelhouse install only from lock files made from the requirements as
they stand; an edit without `make lock` is caught (here, and by the image check), and the wheelhouse then
resolves the edited requirements instead of installing a lock that no longer says what the tree asks for."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance import IMAGES_DIR, SOURCE_ROOT
from conformance.cli import main
from conformance.docker.wheelhouse import _download_args, wheelhouse_stamp
from conformance.locks import HEADER, all_locks, image_locks, kit_locks, locks_digest, stale_locks


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    out = tmp_path / "images"
    shutil.copytree(IMAGES_DIR, out)
    return out


def test_every_lock_is_current_against_its_inputs() -> None:
    stale = stale_locks(all_locks())
    assert not stale, f"{len(stale)} stale lock(s): {stale[0]}; expected every install to come from a current lock"


def test_every_lock_pins_every_package_with_a_hash() -> None:
    for lock in all_locks():
        text = lock.path.read_text()
        pins = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
        assert pins, f"{lock.path} pins nothing; expected the resolved packages of {lock.title}"
        for pin in pins:
            assert "==" in pin and pin.endswith("\\"), (
                f"{lock.path}: {pin!r} is not an exact pin followed by its hashes; expected `NAME==VERSION \\` "
                "and `--hash=sha256:...` lines (make lock)")


def test_the_kits_environment_lock_pins_the_cpu_torch_and_no_cuda_wheels() -> None:
    text = kit_locks()[1].path.read_text()
    assert "\ntorch==2.13.0+cpu " in text, "locks/kit.txt must pin the CPU torch 2.13.0 (the CUDA build is GBs)"
    assert "nvidia-" not in text, "locks/kit.txt resolves CUDA wheels; expected the CPU torch without them"


def test_a_requirement_edit_makes_its_lock_stale_and_no_other(tree: Path) -> None:
    requirements = tree / "gliner2" / "requirements.txt"
    requirements.write_text(requirements.read_text().replace("fastapi>=0.110", "fastapi>=0.111"))
    stale = stale_locks(list(image_locks(tree).values()))
    assert len(stale) == 1 and "locks/pypi/gliner2-requirements.txt" in stale[0] and "make lock" in stale[0], (
        f"expected only the lock of gliner2/requirements.txt stale, naming the fix; found {stale}")


def test_an_edit_of_an_included_constraint_file_stales_the_lock_that_includes_it(tree: Path) -> None:
    stack = tree / "gliner2" / "requirements-stack.txt"
    stack.write_text(stack.read_text().replace("safetensors>=0.4", "safetensors>=0.5"))
    stale = " ".join(stale_locks(list(image_locks(tree).values())))
    assert "gliner2-requirements-stack.txt" in stale and "gliner2-requirements.txt" in stale, (
        f"requirements.txt includes requirements-stack.txt (-c): both locks must be stale, found: {stale}")


def test_a_lock_without_its_input_line_counts_as_missing(tree: Path) -> None:
    lock = image_locks(tree)["pypi/yolo-tiled-requirements"]
    lock.path.write_text(lock.path.read_text().split("\n", 1)[1])
    assert lock.stale() is not None and "missing or has no input digest" in str(lock.stale())


def test_a_moved_tree_keeps_its_locks_current(tree: Path) -> None:
    assert not stale_locks(list(image_locks(tree).values())), "digests must not depend on where the tree lies"


def test_pyproject_edits_outside_the_dependencies_keep_the_kit_lock_current(tmp_path: Path) -> None:
    root = tmp_path / "kit"
    shutil.copytree(SOURCE_ROOT / "locks", root / "locks")
    text = (SOURCE_ROOT / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(text.replace('version = "', 'version = "9') + "\n[tool.other]\nx = 1\n")
    assert not stale_locks(kit_locks(root)), "a version or tool edit must not stale the lock"
    (root / "pyproject.toml").write_text(text.replace('"pyyaml>=6"', '"pyyaml>=6.0.1"'))
    stale = sorted(line.split(" ", 1)[0] for line in stale_locks(kit_locks(root)))
    assert stale == ["locks/arm64-rehearsal.txt", "locks/device-jetson.txt", "locks/device.txt", "locks/kit.txt"], (
        f"a core dependency edit must stale exactly the locks made from pyproject.toml, found {stale}")


def test_wheelhouse_takes_a_current_lock_exactly_and_resolves_a_stale_ones_inputs(tree: Path) -> None:
    locks = image_locks(tree)
    current = _download_args(locks["pypi/gliner2-requirements-nodeps"])
    assert current[:3] == ["--no-deps", "--require-hashes", "-r"] and current[3].endswith(
        "locks/pypi/gliner2-requirements-nodeps.txt"), f"a current lock is downloaded exactly, found {current}"
    nodeps = tree / "gliner2" / "requirements-nodeps.txt"
    nodeps.write_text(nodeps.read_text().replace("gliner==0.2.29", "gliner==0.2.28"))
    stale = _download_args(image_locks(tree)["pypi/gliner2-requirements-nodeps"])
    assert stale == ["--no-deps", "-r", str(nodeps)], f"a stale lock's inputs are resolved as they are: {stale}"


def test_the_wheelhouse_stamp_and_the_image_label_change_with_a_lock(tree: Path) -> None:
    before_stamp, before = wheelhouse_stamp(tree), locks_digest(list(image_locks(tree).values()))
    lock = image_locks(tree)["torch/packages"].path
    lock.write_text(lock.read_text() + "\n")
    assert wheelhouse_stamp(tree) != before_stamp, "a new lock must make a new wheelhouse"
    assert locks_digest(list(image_locks(tree).values())) != before, "a new lock must change the image label"


def test_lock_check_exits_1_naming_each_stale_lock(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lock", "--check", "--images-dir", str(tree)]) == 0
    requirements = tree / "yolo-tiled" / "requirements.txt"
    requirements.write_text(requirements.read_text() + "# an edit\n")
    assert main(["lock", "--check", "--images-dir", str(tree)]) == 1
    err = capsys.readouterr().err
    assert "stale: locks/pypi/yolo-tiled-requirements.txt" in err and "make lock" in err, err


def test_the_header_is_what_the_lock_check_reads() -> None:
    line = HEADER.format(digest="0" * 64)
    assert line.startswith("# orin-kit lock, input sha256:" + "0" * 64 + ";") and line.endswith("\n")
