"""numpy < 2 in the final image, and every native module the image carries imports in a fresh interpreter
with no NumPy ABI text on stderr (seed 000 "NumPy Pinning"; the error strings numpy 2 prints to a module built for numpy 1)."""

from __future__ import annotations

from collections.abc import Callable
import json

import pytest
from packaging.version import Version

from conformance.config.images import load_numpy_abi
from conformance.docker.images import BuiltImage
from conformance.docker.containers import run_once

RecordProperty = Callable[[str, object], None]  # pytest's record_property fixture

pytestmark = pytest.mark.docker


# Runs inside the image: imports each module in its own fresh interpreter; reports rc and stderr as JSON.
PROBE = """
import importlib.util, json, subprocess, sys
out = {}
for name in sys.argv[1:]:
    if name in OPTIONAL and importlib.util.find_spec(name) is None:
        out[name] = None
        continue
    done = subprocess.run([sys.executable, "-c", "import " + name], capture_output=True, text=True)
    out[name] = {"rc": done.returncode, "stderr": done.stderr[-2000:]}
print(json.dumps(out))
"""


def test_numpy_below_2_in_image(built_image: BuiltImage) -> None:
    limit = load_numpy_abi().numpy_max_exclusive
    result = run_once(built_image.tag, ["python3", "-c", "import numpy; print(numpy.__version__)"])
    assert result.returncode == 0, f"numpy does not import in {built_image.tag}: {result.stderr.strip()[-500:]}"
    found = result.stdout.strip()
    assert Version(found) < Version(limit), (
        f"numpy {found} in {built_image.tag}, expected < {limit}; fix: re-pin `numpy<2` after the LAST pip "
        "install of the Dockerfile (seed 000 'NumPy Pinning')")


def test_native_modules_import_without_numpy_abi_errors(built_image: BuiltImage,
                                                        record_property: RecordProperty) -> None:
    texts = list(load_numpy_abi().abi_texts)
    modules = list(built_image.spec.native_modules)
    probe = f"OPTIONAL = {list(built_image.spec.optional_modules)!r}\n" + PROBE
    result = run_once(built_image.tag, ["python3", "-c", probe, *modules])
    assert result.returncode == 0, f"the import probe failed in {built_image.tag}: {result.stderr.strip()[-500:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    record_property("imported", ",".join(m for m, r in report.items() if r is not None))
    problems = []
    for module, outcome in report.items():
        if outcome is None:
            continue  # optional and absent in this variant (e.g. tensorrt off the L4T base)
        hits = [t for t in texts if t in outcome["stderr"]]
        if outcome["rc"] != 0 or hits:
            last = (outcome["stderr"].strip().splitlines() or ["no stderr"])[-1]
            problems.append(f"{module}: exit {outcome['rc']}, ABI texts {hits or 'none'}, last line: {last}")
    assert not problems, (
        f"native modules of {built_image.tag} fail to import cleanly: " + "; ".join(problems)
        + "; expected each to import with no NumPy ABI text; fix: keep numpy<2 (re-pin after the last install) "
        "and install --no-deps what would drag numpy 2 in (seed 000 'NumPy Pinning')")
