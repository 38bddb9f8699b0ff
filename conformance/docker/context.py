"""Build contexts: the tree under test plus the kit's sources, and known-bad copies of a tree.

The images' Dockerfiles use a context laid out like this repository: ``images/`` (the tree under test, with
its ``common/`` build helpers), ``app/`` and ``nms_cpp/`` (the applications the images run) and
``build/wheelhouse/`` (the wheels of a hermetic build). For the repository's own tree that is the checkout
itself; for any other tree (``--images-dir``) the kit assembles it in a scratch directory, so every build of
a run (the image under test, the cache probe, the benchmark builds) uses the given tree and only it.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from conformance import IN_CHECKOUT, IMAGES_DIR, SOURCE_ROOT
from conformance.util.files import link_or_copy

#: What a context holds besides the images tree (paths relative to SOURCE_ROOT).
KIT_SOURCES = ("app", "nms_cpp")
#: The kit's shared build helpers (fetch-wheel.sh, ensure-apt-packages.sh): a tree without them gets the kit's.
HELPERS = "common"
#: What a build never sees (the checkout's .dockerignore says the same for the checkout's own context).
IGNORED_NAMES = ("__pycache__", "*.pyc", "*.so", "build", "*.egg-info", ".pytest_cache", "*.engine", "*.onnx",
                 "*.mp4")
_IGNORED = shutil.ignore_patterns(*IGNORED_NAMES)


class ContextError(RuntimeError):
    """A build context or a known-bad tree could not be made; the message says what to fix."""


def _ignored(path: Path, root: Path) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in path.relative_to(root).parts for pattern in IGNORED_NAMES)


def _files(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not _ignored(path, root):
            yield path


def tree_digest(roots: Sequence[Path]) -> str:
    """A digest of every file's relative path and content under roots (what a build can see)."""
    digest = hashlib.sha256()
    for root in roots:
        for path in _files(root):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def helpers_dir(images_dir: Path) -> Path:
    """The shared build helpers a build of images_dir uses: the tree's own `common/`, else the kit's."""
    own = images_dir / HELPERS
    if own.is_dir():
        return own
    kit = IMAGES_DIR / HELPERS
    if kit.is_dir():
        return kit
    raise ContextError(f"{images_dir} has no {HELPERS}/ (fetch-wheel.sh, ensure-apt-packages.sh) and this "
                       "installation of the kit carries none; copy the kit's images/common/ into the tree")


def missing_files(images_dir: Path, required: Iterable[str]) -> list[str]:
    """The files of `required` (relative to the tree) that images_dir lacks."""
    return sorted(rel for rel in set(required) if not (images_dir / rel).is_file())


def build_context(images_dir: Path, wheelhouse: Path, scratch: Path, copy: bool = False) -> Path:
    """The context to build images_dir's Dockerfiles in, laid out as the Dockerfiles expect: the tree as
    `images/` (with the kit's `common/` when it has none), the kit's `app/` and `nms_cpp/`, the wheelhouse as
    `build/wheelhouse/` (hard-linked). The checkout itself serves for its own tree and wheelhouse, unless copy
    (a build that edits files).

    scratch is updated in place, not rebuilt: files already there with the same size and time are kept, so a
    context directory used again (a context slot) is sent to the builder again only where it changed."""
    if not copy and IN_CHECKOUT and images_dir.resolve() == IMAGES_DIR.resolve() and \
            wheelhouse.resolve() == (SOURCE_ROOT / "build" / "wheelhouse").resolve():
        return SOURCE_ROOT
    helpers = helpers_dir(images_dir)
    sources: list[tuple[Path, Path, bool]] = [(images_dir, scratch / "images", False)]
    if helpers.parent != images_dir:
        sources.append((helpers, scratch / "images" / HELPERS, False))
    sources += [(SOURCE_ROOT / rel, scratch / rel, False) for rel in KIT_SOURCES]
    if wheelhouse.is_dir():
        sources.append((wheelhouse, scratch / "build" / "wheelhouse", True))
    wanted: set[Path] = set()
    for source, dest, link in sources:
        for path in _files(source):
            target = dest / path.relative_to(source)
            wanted.add(target)
            _update(path, target, link)
    for group in ("torch", "pypi"):  # bind-mount sources must exist, empty too (the jetson variant downloads)
        (scratch / "build" / "wheelhouse" / group).mkdir(parents=True, exist_ok=True)
    for path in scratch.rglob("*"):  # files an earlier use of the directory left and this one does not want
        if (path.is_file() or path.is_symlink()) and path not in wanted:
            path.unlink()
    return scratch


def _update(source: Path, target: Path, link: bool) -> None:
    """Make target a copy of source (a hard link when link), unless it already is one."""
    try:
        have = target.stat()
    except FileNotFoundError:
        have = None
    want = source.stat()
    if have is not None and (have.st_ino == want.st_ino if link else
                             (have.st_size, int(have.st_mtime)) == (want.st_size, int(want.st_mtime))):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if have is not None:
        target.unlink()
    if link:
        link_or_copy(str(source), str(target))
    else:
        shutil.copy2(source, target)


@contextmanager
def context_slot(root: Path, purpose: str) -> Iterator[Path]:
    """A context directory under root for one purpose, held (flock) while in use: the first free of a few
    slots, so that serial builds reuse one directory (the builder then receives only what changed) and
    concurrent runs never share one."""
    root.mkdir(parents=True, exist_ok=True)
    for index in range(8):
        lock = (root / f"{purpose}-{index}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        try:
            yield root / f"{purpose}-{index}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
        return
    raise ContextError(f"all 8 context slots for {purpose} under {root} are in use; wait for the other runs")


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
