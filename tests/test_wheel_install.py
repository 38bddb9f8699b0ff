"""The kit works installed, outside a checkout: build its wheel, install it into a fresh virtual environment,
and from an empty directory certify an images tree and an already built image with the installed suite.

The fresh environment gets the kit from the wheel only; its third-party dependencies come from this
environment's site-packages through a path entry (installing torch and friends again would take minutes and
prove nothing about the kit). ORIN_KIT_BUILD_DIR points it at this checkout's generated assets (wheelhouse,
tiny models), as a user would point it at theirs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conformance import IMAGES_DIR, SOURCE_ROOT, work_dir


def _run(argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # setuptools stages files in build/lib and never removes one whose source is gone, so a wheel built in a used
    # checkout can carry deleted modules; a build folder of its own (DIST_EXTRA_CONFIG) keeps it to the tree.
    extra = out / "build.cfg"
    extra.write_text(f"[build]\nbuild_base = {out / 'setuptools-build'}\n")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                  str(SOURCE_ROOT)], SOURCE_ROOT, 600, {**os.environ, "DIST_EXTRA_CONFIG": str(extra)})
    wheels = sorted(out.glob("orin_conformance_kit-*.whl"))
    assert built.returncode == 0 and len(wheels) == 1, f"building the wheel failed: {built.stderr[-2000:]}"
    return wheels[0]


def test_the_wheel_carries_the_checks_the_data_and_the_apps(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = ["conformance/plugin.py", "conformance/checks/images/conftest.py",
                "conformance/fixtures/profiles/orin-nx-16gb.yaml", "conformance/fixtures/selfproof/README.md",
                "conformance/fixtures/devices/l4t_jetpack.yaml", "app/tiled/__init__.py",
                "nms_cpp/src/nms_core.cpp", "nms_cpp/src/nms_core.hpp", "nms_cpp/include/nms_merger.h",
                "nms_cpp/Makefile"]
    missing = [name for name in expected if name not in names]
    assert not missing, f"{wheel.name} lacks {missing}; expected the checks, their data and the apps' sources"


def test_the_wheel_carries_every_fixture_file_of_the_tree(wheel: Path) -> None:
    listed = _run(["git", "ls-files", "fixtures"], SOURCE_ROOT, 60)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.strip()}")
    tracked = {"conformance/" + name for name in listed.stdout.split()}
    missing = sorted(tracked - set(zipfile.ZipFile(wheel).namelist()))
    assert tracked and not missing, (f"{wheel.name} lacks {len(missing)} of the {len(tracked)} files of fixtures/, "
                                     f"e.g. {missing[:3]}; expected all of them (setup.py lists fixtures/ folders "
                                     "as packages, pyproject.toml's package-data takes every file)")


def test_the_wheel_carries_only_source_files_of_the_tree(wheel: Path) -> None:
    def source(name: str) -> Path:
        fixtures = "conformance/fixtures/"
        return SOURCE_ROOT / ("fixtures/" + name[len(fixtures):] if name.startswith(fixtures) else name)

    names = [n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n]
    strays = [name for name in names if not source(name).is_file()]
    assert not strays, (f"{wheel.name} carries {len(strays)} file(s) the tree does not have, e.g. {strays[:3]}; "
                        "expected only the checkout's files (a stale build folder was packaged)")
    bytecode = [name for name in names if name.endswith(".pyc")]
    assert not bytecode, (f"{wheel.name} carries {len(bytecode)} bytecode file(s) of this checkout, e.g. "
                          f"{bytecode[:2]}; expected sources only (pyproject.toml's exclude-package-data)")


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (no deps); returns its python."""
    venv = tmp_path_factory.mktemp("venv") / "kit"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], SOURCE_ROOT, 300)
    assert made.returncode == 0, f"venv failed: {made.stderr}"
    python = venv / "bin" / "python"
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                SOURCE_ROOT, 600)
    assert done.returncode == 0, f"installing {wheel.name} failed: {done.stderr[-2000:]}"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     SOURCE_ROOT, 60).stdout.strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "PYTHONPATH"))}
    env["ORIN_KIT_BUILD_DIR"] = str(work_dir())
    return env


def test_installed_kit_runs_from_its_own_files(installed: Path, tmp_path: Path) -> None:
    probe = _run([str(installed), "-c", "import conformance, app, nms_cpp; print(conformance.FIXTURES_DIR); "
                  "print(conformance.IN_CHECKOUT); print(app.__file__)"], tmp_path, 120, _env())
    fixtures, in_checkout, app_file = probe.stdout.split()
    assert probe.returncode == 0 and in_checkout == "False" and not app_file.startswith(str(SOURCE_ROOT)), (
        f"the installed kit imports from {app_file} (in checkout: {in_checkout}): {probe.stderr[-800:]}; "
        "expected the wheel's own files")
    assert (Path(fixtures) / "profiles" / "generic-host.yaml").is_file(), f"no profiles under {fixtures}"


@pytest.mark.docker
def test_installed_kit_certifies_a_tree_and_a_built_image(installed: Path, tmp_path: Path) -> None:
    tree = tmp_path / "my-images"
    shutil.copytree(IMAGES_DIR, tree)
    empty = tmp_path / "empty"
    empty.mkdir()
    base = [str(installed), "-m", "pytest", "-p", "conformance.plugin", "--pyargs", "conformance.checks",
            "-p", "no:cacheprovider", "-q", "-rs"]
    tree_run = _run([*base, "-m", "docker", f"--images-dir={tree}", "-k", "onnx or numpy_below"], empty, 1800,
                    _env())
    assert tree_run.returncode == 0 and " passed" in tree_run.stdout and "skipped" not in tree_run.stdout, (
        f"certifying {tree} with the installed kit exited {tree_run.returncode}: {tree_run.stdout[-3000:]}")
    summary = json.loads((empty / "reports" / "summary.json").read_text())
    built = {image["name"]: image["tag"] for image in summary["run"]["images"]}
    assert "yolo-tiled" in built, f"the run recorded no yolo-tiled image under test: {summary['run']['images']}"
    # The image just built, certified as a user's own: named by tag, said to be like the kit's yolo-tiled.
    # The installed kit ships no images tree: without --images-dir the run says so in one line.
    no_tree = _run([*base, "-m", "docker", f"--image={built['yolo-tiled']}", "--image-kind=yolo-tiled",
                    "-k", "onnx and yolo"], empty, 900, _env())
    assert no_tree.returncode != 0 and "pass --images-dir" in no_tree.stdout + no_tree.stderr, (
        f"an installed kit without --images-dir: expected a one-line error naming --images-dir, got exit "
        f"{no_tree.returncode}: {(no_tree.stdout + no_tree.stderr)[-2000:]}")
    image_run = _run([*base, "-m", "docker", f"--image={built['yolo-tiled']}", "--image-kind=yolo-tiled",
                      f"--images-dir={tree}", "-k", "onnx and yolo"], empty, 900, _env())
    assert image_run.returncode == 0 and " passed" in image_run.stdout, (
        f"certifying {built['yolo-tiled']} with the installed kit exited {image_run.returncode}: "
        f"{image_run.stdout[-3000:]}")
