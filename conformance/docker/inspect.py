"""Reading built images: `docker inspect` JSON, labels, sizes, and layers mapped to Dockerfile steps."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class InspectError(RuntimeError):
    """An image could not be inspected, or its history does not map onto its layers."""


def docker_json(docker: str, *args: str) -> Any:
    """Run a docker command that prints JSON and parse it."""
    result = subprocess.run([docker, *args], capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise InspectError(f"`docker {' '.join(args)}` failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Layer:
    """One history entry of an image: the Dockerfile instruction and the layer it made (None if empty)."""

    created_by: str
    diff_id: str | None


#: Dockerfile instructions that change only the image config, never the filesystem (no layer).
CONFIG_ONLY = frozenset({"ARG", "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "MAINTAINER",
                         "ONBUILD", "SHELL", "STOPSIGNAL", "USER", "VOLUME"})


def _makes_layer(created_by: str) -> bool:
    text = created_by.strip()
    if text.startswith("/bin/sh -c #(nop) "):  # the classic builder's notation
        text = text.removeprefix("/bin/sh -c #(nop) ").strip()
        return text.split(" ", 1)[0] in ("COPY", "ADD")
    return text.split(" ", 1)[0] not in CONFIG_ONLY


def layers(docker: str, tag: str) -> list[Layer]:
    """History entries oldest first, each paired with its RootFS diff id (None for config-only entries).

    BuildKit gives every RUN, COPY, ADD and WORKDIR a layer, even an empty one, so the mapping goes by
    instruction; a count that does not match the image's layers raises ImagesError.
    """
    diff_ids: list[str] = list(docker_json(docker, "image", "inspect", tag)[0]["RootFS"]["Layers"])
    created = history(docker, tag)
    with_layer = [_makes_layer(c) for c in created]
    if sum(with_layer) != len(diff_ids):
        raise InspectError(f"{tag}: {sum(with_layer)} history entries make a layer but the image has "
                          f"{len(diff_ids)} layers; cannot map layers to Dockerfile steps")
    layer_iter = iter(diff_ids)
    return [Layer(c, next(layer_iter) if has else None) for c, has in zip(created, with_layer)]


def history(docker: str, tag: str) -> list[str]:
    """The image's history, oldest first: what created each entry (BuildKit: the instruction with the build
    args a RUN step saw, `RUN |2 A=x B=y /bin/sh -c ...`)."""
    result = subprocess.run([docker, "history", "--no-trunc", "--format", "{{json .CreatedBy}}", tag],
                            capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise InspectError(f"`docker history {tag}` failed: {result.stderr.strip()}")
    return [str(json.loads(line)) for line in result.stdout.splitlines() if line.strip()][::-1]


def image_size_bytes(docker: str, tag: str) -> int:
    return int(docker_json(docker, "image", "inspect", tag)[0]["Size"])


def image_label(docker: str, tag: str, label: str) -> str | None:
    """The value of label on image tag ('' when unset), or None when there is no such image."""
    result = subprocess.run([docker, "image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', tag],
                            capture_output=True, text=True, timeout=60, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def dockerfile_arg_default(dockerfile: Path, name: str) -> str:
    """The default value of `ARG name=...` in dockerfile; raises InspectError when it has none."""
    for line in dockerfile.read_text().splitlines():
        if line.startswith(f"ARG {name}="):
            return line.split("=", 1)[1].strip()
    raise InspectError(f"{dockerfile} declares no default for `ARG {name}=`")
