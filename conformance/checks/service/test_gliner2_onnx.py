"""ONNX Runtime is absent and importing gliner2 (and gliner, where installed) never loads it.

Seed 000: onnxruntime caused ``free(): invalid pointer`` crashes after inference on the Orin, so the
image removes it and patches gliner's eager import; gliner 0.2.13-0.2.28 import it unconditionally in
their ``__init__``. The probe runs in a fresh interpreter: this one (default), or the image's through
``--gliner2-python-cmd 'docker exec CTR python3'``.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict, Optional

import pytest

from conformance.service.load import probe_argv

# Runs in the probed interpreter; prints one JSON object. find_spec on a top-level name never imports it.
PROBE = r"""
import importlib, importlib.util, json, sys
name, attr = sys.argv[1], sys.argv[2] or None
spec = importlib.util.find_spec("onnxruntime")
out = {"onnxruntime": getattr(spec, "origin", None) or (spec and "namespace") or None,
       "installed": importlib.util.find_spec(name) is not None, "error": None, "loaded": []}
if out["installed"]:
    try:
        module = importlib.import_module(name)
        if attr:
            getattr(module, attr)
    except Exception as exc:
        out["error"] = "%s: %s" % (type(exc).__name__, exc)
out["loaded"] = sorted(m for m in sys.modules if m == "onnxruntime" or m.startswith("onnxruntime."))
print(json.dumps(out))
"""

SOURCE = "seed 000 'ONNX Runtime Decision', 'gliner Lazy-Import Patch'; issue 5"
# (module, attribute resolved after import): gliner2's model class is lazy, so touch it too.
MODULES = [("gliner2", "GLiNER2"), ("gliner", "")]


def _probe(config: pytest.Config, module: str, attr: str) -> Dict[str, Any]:
    env = dict(os.environ)
    extra: Optional[str] = config.getoption("--gliner2-pythonpath")
    if extra:
        env["PYTHONPATH"] = os.pathsep.join([str(extra), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HF_HUB_OFFLINE"] = "1"
    argv = probe_argv(config.getoption("--gliner2-python-cmd")) + ["-c", PROBE, module, attr]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        pytest.fail(f"the import probe itself failed (exit {proc.returncode}): {proc.stderr[-800:]}",
                    pytrace=False)
    result: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_onnxruntime_is_not_installed(pytestconfig: pytest.Config) -> None:
    found = _probe(pytestconfig, "gliner2", "")["onnxruntime"]
    assert found is None, (
        f"onnxruntime is importable from {found}; expected it absent. Fix: "
        f"`pip uninstall -y onnxruntime onnxruntime-gpu` after the last pip install ({SOURCE})")


@pytest.mark.parametrize(("module", "attr"), MODULES, ids=[m for m, _ in MODULES])
def test_importing_module_loads_no_onnxruntime(pytestconfig: pytest.Config, module: str,
                                               attr: str) -> None:
    result = _probe(pytestconfig, module, attr)
    if not result["installed"]:
        pytest.skip(f"{module} is not installed in the probed environment; nothing to import")
    assert result["loaded"] == [], (
        f"`import {module}` loaded {', '.join(result['loaded'])}; expected no onnxruntime module. "
        f"Fix: `python -m app.gliner_patch apply SITE_PACKAGES` makes gliner's import lazy, and "
        f"uninstall onnxruntime ({SOURCE})")
    assert result["error"] is None, (
        f"`import {module}` failed: {result['error']}; expected it to import. "
        f"Fix: for gliner apply `python -m app.gliner_patch apply`; install gliner2>=2 ({SOURCE})")
