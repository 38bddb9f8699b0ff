"""Build contexts of any tree: the tree's own files as `images/`, the kit's helpers where it has none, files
left from an earlier use of a context slot removed and unchanged ones kept; the wheelhouse a tree gets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance import IMAGES_DIR
from conformance.docker import wheelhouse
from conformance.docker.context import ContextError, build_context, context_slot, helpers_dir, missing_files


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    out = tmp_path / "tree"
    shutil.copytree(IMAGES_DIR, out)
    return out


def test_context_holds_the_trees_files_not_the_kits(tree: Path, tmp_path: Path) -> None:
    requirements = tree / "gliner2" / "requirements.txt"
    requirements.write_text(requirements.read_text() + "onnxruntime==1.30.0\n")
    (tmp_path / "wheels" / "pypi").mkdir(parents=True)
    context = build_context(tree, tmp_path / "wheels", tmp_path / "ctx")
    assert "onnxruntime==1.30.0" in (context / "images" / "gliner2" / "requirements.txt").read_text(), (
        "the build must see the tree's own requirements, not the kit's")
    assert (context / "app" / "__init__.py").is_file() and (context / "build" / "wheelhouse" / "pypi").is_dir()


def test_tree_without_helpers_gets_the_kits(tree: Path, tmp_path: Path) -> None:
    shutil.rmtree(tree / "common")
    assert helpers_dir(tree) == IMAGES_DIR / "common"
    context = build_context(tree, tmp_path / "none", tmp_path / "ctx")
    assert (context / "images" / "common" / "fetch-wheel.sh").is_file(), "the kit's helpers reach the build"


def test_missing_files_are_named(tree: Path) -> None:
    (tree / "yolo-tiled" / "requirements.txt").unlink()
    assert missing_files(tree, ["gliner2/Dockerfile", "yolo-tiled/requirements.txt"]) == [
        "yolo-tiled/requirements.txt"]


def test_a_reused_slot_keeps_unchanged_files_and_drops_stale_ones(tree: Path, tmp_path: Path) -> None:
    with context_slot(tmp_path / "slots", "generic") as slot:
        build_context(tree, tmp_path / "none", slot)
        kept = slot / "images" / "gliner2" / "Dockerfile"
        inode = kept.stat().st_ino
        (slot / "images" / "stale.txt").write_text("left by an earlier build")
        (slot / "images" / "gliner2" / "requirements.txt").write_text("edited by a probe\n")
        build_context(tree, tmp_path / "none", slot)
        assert kept.stat().st_ino == inode, "an unchanged file is not copied again (the builder skips it)"
        assert not (slot / "images" / "stale.txt").exists(), "a file the tree does not have is removed"
        assert (slot / "images" / "gliner2" / "requirements.txt").read_text() == (
            tree / "gliner2" / "requirements.txt").read_text(), "an edited file is restored"


def test_slots_held_by_a_run_are_not_shared(tmp_path: Path) -> None:
    with context_slot(tmp_path, "generic") as first, context_slot(tmp_path, "generic") as second:
        assert first != second, "two holders never get the same directory"


def test_a_tree_with_the_kits_requirements_uses_the_default_wheelhouse(tree: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "wheelhouse"
    default.mkdir()
    (default / ".stamp").write_text(wheelhouse.wheelhouse_stamp(IMAGES_DIR) + "\n")
    made: list[Path] = []

    def fake_build(out: Path, **kwargs: object) -> Path:
        made.append(out)
        return out

    monkeypatch.setattr(wheelhouse, "build_wheelhouse", fake_build)
    assert wheelhouse.wheelhouse_for(tree, default) == default and not made
    requirements = tree / "yolo-tiled" / "requirements.txt"
    requirements.write_text(requirements.read_text() + "tqdm\n")
    own = wheelhouse.wheelhouse_for(tree, default)
    assert own.parent == tmp_path / "wheelhouses" and made == [own], "other requirements: a wheelhouse of its own"


def test_a_tree_without_a_listed_requirement_file_is_named(tree: Path) -> None:
    (tree / "gliner2" / "requirements-stack.txt").unlink()
    with pytest.raises(wheelhouse.WheelhouseError, match="has no gliner2/requirements-stack.txt"):
        wheelhouse.wheelhouse_stamp(tree)


def test_no_helpers_anywhere_is_a_context_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.docker import context

    monkeypatch.setattr(context, "IMAGES_DIR", tmp_path / "nowhere")
    with pytest.raises(ContextError, match="has no common/"):
        helpers_dir(tmp_path)
