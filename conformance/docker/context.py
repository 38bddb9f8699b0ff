"""Build contexts: the tree under test plus the kit's sources, and known-bad copies of a tree.

The images' Dockerfiles use a context laid out like this repository: ``images/`` (the tree under test),
``app/`` and ``nms_cpp/`` (the applications the images run) and ``build/wheelhouse/`` (the wheels of a
hermetic build). For the repository's own tree that is the checkout itself; for any other tree
(``--images-dir``) the kit assembles it in a scratch directory, so every build of a run uses the given
tree and only it.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from conformance import IN_CHECKOUT, IMAGES_DIR, SOURCE_ROOT
from conformance.util.files import link_or_copy

#: What a context holds besides the images tree (paths relative to SOURCE_ROOT).
KIT_SOURCES = ("app", "nms_cpp")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "build", "*.egg-info")


class ContextError(RuntimeError):
    """A build context or a known-bad tree could not be made; the message says what to fix."""


def _files(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".so"):
            yield path


def tree_digest(roots: Sequence[Path]) -> str:
    """A digest of every file's relative path and content under roots (what a build can see)."""
    digest = hashlib.sha256()
    for root in roots:
        for path in _files(root):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_context(images_dir: Path, wheelhouse: Path, scratch: Path, copy: bool = False) -> Path:
    """The context to build images_dir's Dockerfiles in: the checkout for its own tree (unless copy, for a
    build that edits files), else a copy in scratch with the wheels hard-linked."""
    if not copy and IN_CHECKOUT and images_dir.resolve() == IMAGES_DIR.resolve() and \
            wheelhouse.resolve() == (SOURCE_ROOT / "build" / "wheelhouse").resolve():
        return SOURCE_ROOT
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(images_dir, scratch / "images", ignore=_IGNORED)
    for rel in KIT_SOURCES:
        shutil.copytree(SOURCE_ROOT / rel, scratch / rel, ignore=_IGNORED)
    if wheelhouse.is_dir():
        shutil.copytree(wheelhouse, scratch / "build" / "wheelhouse", copy_function=link_or_copy)
    return scratch


def apply_edits(text: str, edits: Sequence[tuple[str, str]], where: str) -> str:
    """Apply find/replace edits, each of whose find text must occur exactly once (so a known-bad variant
    breaks loudly, instead of silently becoming the good image, when the real file changes)."""
    for find, replace in edits:
        count = text.count(find)
        if count != 1:
            raise ContextError(f"{where}: edit expects its find text exactly once, found it {count} times; "
                               f"update the edit: {find[:80]!r}")
        text = text.replace(find, replace)
    return text


def edited_tree(images_dir: Path, dest: Path, edits: Mapping[str, Sequence[tuple[str, str]]], where: str) -> Path:
    """A copy of images_dir at dest with find/replace edits applied per file (paths relative to the tree)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(images_dir, dest)
    for rel, file_edits in edits.items():
        path = dest / rel
        if not path.is_file():
            raise ContextError(f"{where}: no file {rel} in {images_dir}")
        path.write_text(apply_edits(path.read_text(), file_edits, f"{where} ({rel})"))
    return dest
