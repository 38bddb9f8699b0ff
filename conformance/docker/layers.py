"""The files of every layer of an image, not just the final filesystem: a file added in one layer and deleted
in a later one is still shipped (and readable) in the layer that added it.

Where the engine is local with the overlay2 driver and its directories are readable (root, CI), the layers'
directories are walked directly (seconds); anywhere else the image is streamed through `docker save` and the
layer archives are read as they pass, names only, plus the content of the few files asked for.
"""

from __future__ import annotations

import fnmatch
import os
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.docker.inspect import docker_json

#: A file's content is read only when it matches one of these patterns and is at most this large.
MAX_READ_BYTES = 1 << 20


@dataclass(frozen=True)
class LayerFile:
    layer: int  # 0 = the oldest layer (the base's first)
    path: str  # absolute path inside the image
    content: bytes | None  # read only for paths the caller asked to read


def _overlay_dirs(docker: str, tag: str) -> list[Path] | None:
    data = docker_json(docker, "image", "inspect", tag)[0].get("GraphDriver") or {}
    if data.get("Name") != "overlay2":
        return None
    fields = data.get("Data") or {}
    lower = [Path(p) for p in (fields.get("LowerDir") or "").split(":") if p]
    dirs = [*reversed(lower), Path(fields["UpperDir"])] if fields.get("UpperDir") else list(reversed(lower))
    return dirs if dirs and all(os.access(d, os.R_OK | os.X_OK) for d in dirs) else None


def _walk(root: Path) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        rel = "/" + os.path.relpath(dirpath, root) if dirpath != str(root) else ""
        for name in (*filenames, *dirnames):
            yield f"{rel}/{name}".replace("/./", "/")


def _read(path: Path) -> bytes | None:
    try:
        if path.is_file() and path.stat().st_size <= MAX_READ_BYTES:
            return path.read_bytes()
    except OSError:
        pass
    return None


def _from_save(tag: str, wants: Callable[[str], bool]) -> Iterator[LayerFile]:
    from conformance.docker.containers import client

    chunks = client().images.get(tag).save(named=False)
    reader: Any = _ChunkReader(iter(chunks))  # file-like enough for a stream ("r|") read
    layer = 0
    with tarfile.open(fileobj=reader, mode="r|") as outer:
        for member in outer:
            if not member.isfile() or not (member.name.endswith("layer.tar") or "/blobs/" in member.name):
                continue
            inner_file = outer.extractfile(member)
            if inner_file is None:
                continue
            try:
                with tarfile.open(fileobj=inner_file, mode="r|") as inner:
                    for entry in inner:
                        path = "/" + entry.name.lstrip("./")
                        content = None
                        if entry.isfile() and entry.size <= MAX_READ_BYTES and wants(path):
                            handle = inner.extractfile(entry)
                            content = handle.read() if handle is not None else None
                        yield LayerFile(layer, path, content)
            except tarfile.ReadError:
                continue  # a blob that is a config or manifest, not a layer
            layer += 1


class _ChunkReader:
    """A file-like view of the byte chunks `docker save` streams."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def layer_files(docker: str, tag: str, read: Sequence[str] = ()) -> Iterator[LayerFile]:
    """Every path of every layer of tag (directories too), with the content of files matching `read`."""
    def wants(path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in read)

    dirs = _overlay_dirs(docker, tag)
    if dirs is None:
        yield from _from_save(tag, wants)
        return
    for index, root in enumerate(dirs):
        for path in _walk(root):
            yield LayerFile(index, path, _read(root / path.lstrip("/")) if wants(path) else None)
