"""No ONNX Runtime in the images: no onnxruntime distribution installed, and importing the app loads none
(seed 000 "ONNX Runtime Decision": `free(): invalid pointer` after inference on Orin)."""

from __future__ import annotations

import json

import pytest

from conformance.docker.images import BuiltImage
from conformance.docker.containers import run_once

pytestmark = pytest.mark.docker

LIST_DISTS = ("import importlib.metadata as m, json, re, sys; absent = {re.sub(r'[-_.]+', '-', a).lower() for a in "
              "sys.argv[1:]}; print(json.dumps(sorted({d.metadata['Name'] for d in m.distributions() if "
              "any(n == a or n.startswith(a + '-') for n in [re.sub(r'[-_.]+', '-', d.metadata['Name'] or '').lower()] "
              "for a in absent)})))")


def test_no_onnxruntime_distribution_installed(built_image: BuiltImage) -> None:
    absent = list(built_image.spec.must_be_absent)
    result = run_once(built_image.tag, ["python3", "-c", LIST_DISTS, *absent])
    assert result.returncode == 0, f"listing distributions failed in {built_image.tag}: {result.stderr[-500:]}"
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert not found, (
        f"{built_image.tag} has {', '.join(found)} installed, expected none of {', '.join(absent)}; fix: "
        "`pip uninstall -y onnxruntime onnxruntime-gpu` after the last install that may pull it, and keep it out "
        "of every requirements file (seed 000 'ONNX Runtime Decision')")


def test_importing_app_loads_no_onnxruntime(built_image: BuiltImage) -> None:
    # The app module, then what it imports lazily when it serves (gliner2, gliner): all in one interpreter.
    modules = [built_image.spec.app_module, *built_image.spec.runtime_imports]
    code = (f"import sys, json; import {', '.join(modules)}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'onnxruntime')))")
    result = run_once(built_image.tag, ["python3", "-c", code])
    shown = " + ".join(modules)
    assert result.returncode == 0, (
        f"`import {shown}` fails in {built_image.tag}: {result.stderr.strip()[-600:]}; expected the app to "
        "import without onnxruntime; fix: patch gliner's __init__ to import .model lazily (seed 000 'gliner "
        "Lazy-Import Patch')")
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert not loaded, (
        f"`import {shown}` loaded {', '.join(loaded[:5])} in {built_image.tag}, expected no onnxruntime "
        "module; fix: patch gliner's __init__ to import .model lazily (seed 000 'gliner Lazy-Import Patch')")
