"""The lazy-import patch of ``gliner/__init__.py``: apply (idempotent) and verify."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

MARKER = "# orin-kit: lazy GLiNER import (app.gliner_patch)"
#: The one eager import every known layout has (gliner 0.2.13 to 0.2.29, read from their released wheels).
EAGER_IMPORT = "from .model import GLiNER"
LAZY_BLOCK = f'''{MARKER}
# `import gliner` no longer imports .model (and onnxruntime with it in gliner 0.2.13-0.2.28);
# GLiNER is imported on first attribute access (seed 000, "gliner Lazy-Import Patch").
def __getattr__(name):
    if name == "GLiNER":
        from .model import GLiNER
        globals()["GLiNER"] = GLiNER
        return GLiNER
    raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}")
'''


class PatchError(RuntimeError):
    """The path holds no gliner package, or one whose layout the patch does not know."""


@dataclass(frozen=True)
class PatchResult:
    init: Path
    version: str
    changed: bool


def find_init(path: Path) -> Path:
    """``gliner/__init__.py`` from a package dir, a site-packages dir or the file itself."""
    path = Path(path)
    for candidate in (path, path / "__init__.py", path / "gliner" / "__init__.py"):
        if candidate.is_file() and candidate.name == "__init__.py" and candidate.parent.name == "gliner":
            return candidate
    raise PatchError(f"no gliner package at {path}: expected PATH to be site-packages, the gliner "
                     "directory or gliner/__init__.py")


def _version(tree: ast.Module) -> str:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__version__"
                                                for t in node.targets):
            if isinstance(node.value, ast.Constant):
                return str(node.value.value)
    return "unknown"


def _eager_model_imports(tree: ast.Module) -> List[ast.ImportFrom]:
    """Top-level ``from .model import ...`` statements (the eager import the patch removes)."""
    return [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module == "model"]


def apply(path: Path) -> PatchResult:
    """Patch gliner at ``path``; a second run changes nothing. Raises PatchError on unknown layouts."""
    init = find_init(path)
    text = init.read_text()
    tree = ast.parse(text, filename=str(init))
    version = _version(tree)
    if MARKER in text:
        if _eager_model_imports(tree):
            raise PatchError(f"{init} (gliner {version}) carries the patch marker but still imports "
                             ".model eagerly; reinstall gliner and apply again")
        return PatchResult(init, version, changed=False)
    eager = _eager_model_imports(tree)
    lines = text.splitlines(keepends=True)
    if (len(eager) != 1 or [a.name for a in eager[0].names] != ["GLiNER"]
            or lines[eager[0].lineno - 1].strip() != EAGER_IMPORT):
        found = ", ".join(ast.get_source_segment(text, n) or "?" for n in eager) or "none"
        raise PatchError(f"unknown gliner layout in {init} (gliner {version}): expected one top-level "
                         f"'{EAGER_IMPORT}' (gliner 0.2.13-0.2.29), found {found}; not patched")
    lines[eager[0].lineno - 1] = LAZY_BLOCK
    new = "".join(lines)
    ast.parse(new, filename=str(init))  # never write a file Python cannot import
    fd, tmp = tempfile.mkstemp(prefix=".__init__.", suffix=".py", dir=str(init.parent))
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(new)
        os.chmod(tmp, init.stat().st_mode & 0o777)
        os.replace(tmp, init)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return PatchResult(init, version, changed=True)


# Run in a fresh interpreter with the package's parent first on sys.path; prints one JSON object.
_IMPORT_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
out = {"error": None}
try:
    import gliner
except Exception as exc:
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
out["file"] = getattr(sys.modules.get("gliner"), "__file__", None)
out["loaded"] = sorted(m for m in sys.modules if m in ("gliner.model", "onnxruntime")
                       or m.startswith("onnxruntime."))
print(json.dumps(out))
"""


def verify(path: Path, run_import: bool = False, python: Optional[str] = None) -> List[str]:
    """Problems with the patch at ``path`` (empty when verified).

    Statically: the marker, a module ``__getattr__`` and no top-level ``from .model import``.
    With ``run_import``: ``import gliner`` in a fresh interpreter works and loads neither
    ``gliner.model`` nor onnxruntime.
    """
    init = find_init(path)
    text = init.read_text()
    tree = ast.parse(text, filename=str(init))
    problems: List[str] = []
    if MARKER not in text:
        problems.append(f"{init} has no patch marker; run `python -m app.gliner_patch apply {path}`")
    for node in _eager_model_imports(tree):
        problems.append(f"{init}:{node.lineno} still imports .model eagerly: "
                        f"{ast.get_source_segment(text, node)}")
    if not any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body):
        problems.append(f"{init} defines no module-level __getattr__ to load GLiNER lazily")
    if run_import and not problems:
        proc = subprocess.run([python or sys.executable, "-c", _IMPORT_PROBE, str(init.parent.parent)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not proc.stdout.strip():
            return [f"the import probe failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}"]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if result["error"]:
            problems.append(f"`import gliner` failed: {result['error']}")
        elif result["file"] and Path(result["file"]).resolve() != init.resolve():
            problems.append(f"`import gliner` imported {result['file']}, not {init}")
        if result["loaded"]:
            problems.append(f"`import gliner` loaded {', '.join(result['loaded'])}; expected neither "
                            "gliner.model nor onnxruntime")
    return problems
