"""Resolve a `module:attr` or `path/file.py:attr` SPEC to the object: how options point checks at a fixture."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any


class SpecError(ValueError):
    """A SPEC names no importable object; the message says which part is wrong."""


def load_spec(spec: str, base: Path | None = None) -> Any:
    """The object named by ``module:attr`` or ``file.py:attr`` (a relative file is taken from base, else cwd)."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise SpecError(f"expected SPEC as 'module:attr' or 'file.py:attr', got {spec!r}")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        if not path.is_file():
            raise SpecError(f"{spec!r}: file {path} not found")
        name = f"_spec_{path.stem}_{abs(hash(str(path)))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise SpecError(f"{spec!r}: cannot import {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as error:
            raise SpecError(f"{spec!r}: cannot import {target} ({error})") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise SpecError(f"{spec!r}: {target} has no attribute {attr!r}") from None
