"""The gliner lazy-import patch against real gliner releases fetched from the package index.

Wheels are downloaded once with ``pip download --no-deps`` into build/cache/gliner-wheels (git-ignored)
and unpacked per test; none of their code is committed. 0.2.13 and 0.2.22 import onnxruntime eagerly
through ``gliner/__init__.py``; 0.2.29 has a larger ``__init__`` (streaming, packing) and only tries to.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from app.gliner_patch import PatchError, apply, verify
from app.gliner_patch.patch import MARKER
from conformance import CHECKS_DIR, SOURCE_ROOT

WHEELS = SOURCE_ROOT / "build" / "cache" / "gliner-wheels"
VERSIONS = ["0.2.13", "0.2.22", "0.2.29"]


def fetch_wheel(version: str) -> Path:
    """The cached wheel of gliner ``version``; skips the test when the index cannot be reached."""
    found = sorted(WHEELS.glob(f"gliner-{version}-*.whl"))
    if found:
        return found[0]
    WHEELS.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                           f"gliner=={version}", "-d", str(WHEELS)],
                          capture_output=True, text=True, timeout=300)
    found = sorted(WHEELS.glob(f"gliner-{version}-*.whl"))
    if proc.returncode != 0 or not found:
        pytest.skip(f"gliner=={version} could not be fetched from the package index "
                    f"(pip exit {proc.returncode}): {proc.stderr.strip()[-200:]}")
    return found[0]


@pytest.fixture(params=VERSIONS, ids=[f"gliner-{v}" for v in VERSIONS])
def gliner_site(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A site dir holding the unpacked, unpatched ``gliner`` package of one release."""
    with zipfile.ZipFile(fetch_wheel(str(request.param))) as whl:
        whl.extractall(tmp_path, members=[n for n in whl.namelist() if n.startswith("gliner/")])
    return tmp_path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.gliner_patch", *args], capture_output=True,
                          text=True, timeout=300, cwd=str(SOURCE_ROOT))


def test_unpatched_release_fails_verification(gliner_site: Path) -> None:
    proc = cli("verify", str(gliner_site))
    assert proc.returncode == 1 and "still imports .model eagerly" in proc.stderr, (
        f"verify of an unpatched release exited {proc.returncode}: {proc.stderr}")


def test_apply_makes_import_lazy_and_is_idempotent(gliner_site: Path) -> None:
    first = cli("apply", str(gliner_site))
    assert first.returncode == 0 and ": patched:" in first.stdout, f"apply failed: {first.stderr}"
    init = gliner_site / "gliner" / "__init__.py"
    patched = init.read_bytes()
    second = cli("apply", str(gliner_site / "gliner"))
    assert second.returncode == 0 and "already patched, unchanged" in second.stdout, \
        f"a second apply must be a no-op: {second.stdout} {second.stderr}"
    assert init.read_bytes() == patched, "a second apply changed the file"
    proc = cli("verify", "--import", str(gliner_site))
    assert proc.returncode == 0, f"verify --import of the patched release failed: {proc.stderr}"


def test_patched_release_passes_the_onnx_conformance_check(
        gliner_site: Path, run_checks: Callable[..., pytest.RunResult]) -> None:
    apply(gliner_site)
    check = f"{CHECKS_DIR / 'service' / 'test_gliner2_onnx.py'}::test_importing_module_loads_no_onnxruntime[gliner]"
    result = run_checks(check, f"--gliner2-pythonpath={gliner_site}")
    result.assert_outcomes(passed=1)


def test_unknown_layout_is_refused_and_left_untouched(tmp_path: Path) -> None:
    init = tmp_path / "gliner" / "__init__.py"
    init.parent.mkdir()
    original = '__version__ = "9.0.0"\nfrom .models import GLiNER  # a future layout\n'
    init.write_text(original)
    with pytest.raises(PatchError, match=r"unknown gliner layout .*gliner 9\.0\.0.*not patched"):
        apply(tmp_path)
    assert init.read_text() == original, "a refused patch must leave the file as it was"
    proc = cli("apply", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown gliner layout"), \
        f"the CLI must refuse with one line and exit 2, got {proc.returncode}: {proc.stderr}"


def test_missing_package_is_a_clear_error(tmp_path: Path) -> None:
    proc = cli("apply", str(tmp_path))
    assert proc.returncode == 2 and "no gliner package at" in proc.stderr, \
        f"expected a one-line 'no gliner package' error, got {proc.returncode}: {proc.stderr}"


def test_verify_reports_a_marker_without_the_lazy_loader(tmp_path: Path) -> None:
    init = tmp_path / "gliner" / "__init__.py"
    init.parent.mkdir()
    init.write_text(f"{MARKER}\n__version__ = '0.2.13'\n")
    problems = verify(tmp_path)
    assert problems and "no module-level __getattr__" in problems[0], f"got {problems}"


def test_unpatched_release_with_onnxruntime_fails_the_onnx_conformance_check(
        gliner_site: Path, run_checks: Callable[..., pytest.RunResult]) -> None:
    # The real eager import meets a (stub) onnxruntime: the check must see it loaded.
    stub = SOURCE_ROOT / "fixtures" / "gliner2" / "onnx_stub" / "onnxruntime"
    only_stub = gliner_site / "stub"
    only_stub.mkdir()
    (only_stub / "onnxruntime").symlink_to(stub, target_is_directory=True)
    check = f"{CHECKS_DIR / 'service' / 'test_gliner2_onnx.py'}::test_importing_module_loads_no_onnxruntime[gliner]"
    result = run_checks(check, f"--gliner2-pythonpath={gliner_site}{os.pathsep}{only_stub}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*`import gliner` loaded onnxruntime*expected no onnxruntime module*"])
