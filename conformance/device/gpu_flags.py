"""Where an images tree asks for the GPU the way Jetson refuses: `--gpus` on a command line (Dockerfiles,
scripts, compose commands) or `deploy.resources.reservations.devices` / `gpus:` in a compose service. On Jetson
both fail with "invoking the NVIDIA Container Runtime Hook directly ..."; the nvidia runtime is the way
(`--runtime nvidia`, compose `runtime: nvidia`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.config import ConfigError, read_yaml

_GPUS_FLAG = re.compile(r"(?<![\w-])--gpus(?=[=\s\"']|$)")
_COMPOSE = re.compile(r"^(docker-)?compose.*\.ya?ml$")
_SCANNED_SUFFIXES = (".sh", ".bash", ".py", ".yaml", ".yml")


@dataclass(frozen=True)
class Violation:
    where: str  # path relative to the tree, with a line number or a YAML key
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _code(line: str) -> str:
    """The line without its comment (shell, Dockerfile, YAML and Python comments start with #)."""
    if line.lstrip().startswith("#"):
        return ""
    return re.split(r"\s#", line, maxsplit=1)[0]


def _scanned(path: Path) -> bool:
    return path.is_file() and (path.name.startswith("Dockerfile") or path.suffix in _SCANNED_SUFFIXES)


def _compose_violations(path: Path, relative: str) -> list[Violation]:
    try:
        data = read_yaml(path)
    except ConfigError as error:
        return [Violation(relative, f"unreadable compose file ({error})")]
    services = data.get("services") if isinstance(data, dict) else None
    found = []
    for name, service in (services or {}).items():
        if not isinstance(service, dict):
            continue
        devices: Any = (((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get(
            "devices") if isinstance(service.get("deploy"), dict) else None
        if devices:
            found.append(Violation(f"{relative} services.{name}.deploy.resources.reservations.devices",
                                   f"{devices!r}"))
        if "gpus" in service:
            found.append(Violation(f"{relative} services.{name}.gpus", f"{service['gpus']!r}"))
    return found


def violations(tree: Path) -> list[Violation]:
    """Every place in the tree that requests the GPU with --gpus or compose device reservations."""
    found: list[Violation] = []
    for path in sorted(p for p in tree.rglob("*") if _scanned(p)):
        relative = path.relative_to(tree).as_posix()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if _GPUS_FLAG.search(_code(line)):
                found.append(Violation(f"{relative}:{number}", f"`{line.strip()[:100]}`"))
        if _COMPOSE.match(path.name):
            found += _compose_violations(path, relative)
    return found
