"""Options and fixtures of the tiled checks (a sub-plugin loaded by conformance.plugin).

Each check family is pointed at the thing under test by an option whose default is the real thing;
the project's tests point it at known-bad fixtures in ``fixtures/tiled/bad/`` to prove the check fails.
A ``SPEC`` is ``package.module:attr`` or ``path/to/file.py:attr``.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
import pytest
import yaml

from conformance import FIXTURES_DIR, REPO_ROOT

TILED_FIXTURES = FIXTURES_DIR / "tiled"
BUILD_DIR = REPO_ROOT / "build" / "tiled"
DEFAULT_ONNX = BUILD_DIR / "tiny_yolo_b8.onnx"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--tiled-tiler", metavar="SPEC", default="app.tiled.geometry:slice_boxes",
                    help="tiling function under test (width, height, tile, overlap) -> [T,4] (default: %(default)s)")
    group.addoption("--tiled-merger", metavar="SPEC", default="app.tiled.postprocess:merge_detections",
                    help="tile merge under test (dets, tiles, config) -> Detections (default: %(default)s)")
    group.addoption("--tiled-tracker", metavar="SPEC", default="app.tiled.track:ByteTrackTracker",
                    help="tracker factory under test, called with no arguments (default: %(default)s)")
    group.addoption("--tiled-engine-loader", metavar="SPEC", default="app.tiled.engines:load_engine",
                    help="engine loader used by the FPS/memory checks, (path) -> Engine (default: %(default)s)")
    group.addoption("--tiled-onnx", metavar="PATH", type=Path, default=DEFAULT_ONNX,
                    help="the CPU engine's ONNX model (built by `make tiled-assets` if missing; default: %(default)s)")
    group.addoption("--tiled-reference-weights", metavar="PATH", type=Path, default=DEFAULT_ONNX.with_suffix(".pt"),
                    help="torch weights of the project's detector, the parity reference (default: %(default)s)")
    group.addoption("--tiled-trt-engine", metavar="PATH", type=Path, default=None,
                    help="a TensorRT engine of the same model for the parity check on a GPU/Jetson")
    group.addoption("--tiled-criteria", metavar="PATH", type=Path, default=TILED_FIXTURES / "criteria.yaml",
                    help="pass criteria of the tiled checks (default: %(default)s)")


def load_spec(spec: str) -> Any:
    """Resolve ``module:attr`` or ``file.py:attr`` to the object (raises ``pytest.UsageError`` if it cannot)."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise pytest.UsageError(f"expected SPEC as 'module:attr' or 'file.py:attr', got {spec!r}")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_absolute():
            path = REPO_ROOT / path
        if not path.is_file():
            raise pytest.UsageError(f"{spec!r}: file {path} not found")
        name = f"_tiled_spec_{path.stem}_{abs(hash(str(path)))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise pytest.UsageError(f"{spec!r}: cannot import {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise pytest.UsageError(f"{spec!r}: {target} has no attribute {attr!r}") from None


def ensure_assets(onnx: Path = DEFAULT_ONNX) -> Path:
    """Build the tiny ONNX detector and labels (``make tiled-assets``'s work) when missing; needs torch."""
    if onnx.is_file():
        return onnx
    if onnx != DEFAULT_ONNX:
        raise FileNotFoundError(f"--tiled-onnx {onnx} does not exist")
    pytest.importorskip("torch", reason="building the tiny detector needs torch==2.13.0 (the dev extra)")
    subprocess.run([sys.executable, "-m", "app.tiled.model_builder", "--out", str(onnx),
                    "--labels", str(onnx.parent / "labels.txt")], check=True, cwd=REPO_ROOT)
    return onnx


@dataclass(frozen=True)
class Match:
    """Ground truth vs detections: per truth, the detections with IoU >= the criterion."""

    iou: npt.NDArray[np.float64]  # [G, D]
    hits_per_truth: npt.NDArray[np.int64]  # [G]
    hits_per_detection: npt.NDArray[np.int64]  # [D]


def iou_matrix(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Pairwise IoU of xyxy boxes ``a [G,4]`` and ``b [D,4]``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)[:, None]
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)[None, :]
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match(truth: npt.NDArray[np.floating], found: npt.NDArray[np.floating], iou_min: float) -> Match:
    iou = iou_matrix(truth, found)
    hit = iou >= iou_min
    return Match(iou, hit.sum(axis=1), hit.sum(axis=0))


def load_criteria(config: pytest.Config) -> dict[str, Any]:
    """The criteria file named by ``--tiled-criteria`` (also at collection time, for parametrisation)."""
    path: Path = config.getoption("--tiled-criteria")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise pytest.UsageError(f"--tiled-criteria {path}: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise pytest.UsageError(f"--tiled-criteria {path}: expected a mapping, got {type(data).__name__}")
    return data


@pytest.fixture(scope="session")
def tiled_criteria(pytestconfig: pytest.Config) -> dict[str, Any]:
    return load_criteria(pytestconfig)


@pytest.fixture(scope="session")
def tiled_tiler(pytestconfig: pytest.Config) -> Callable[..., npt.NDArray[np.int32]]:
    return load_spec(pytestconfig.getoption("--tiled-tiler"))


@pytest.fixture(scope="session")
def tiled_merger(pytestconfig: pytest.Config) -> Any:
    return load_spec(pytestconfig.getoption("--tiled-merger"))


@pytest.fixture(scope="session")
def tiled_tracker_factory(pytestconfig: pytest.Config) -> Callable[[], Any]:
    return load_spec(pytestconfig.getoption("--tiled-tracker"))


@pytest.fixture(scope="session")
def tiled_engine_loader(pytestconfig: pytest.Config) -> Callable[[Path], Any]:
    return load_spec(pytestconfig.getoption("--tiled-engine-loader"))


@pytest.fixture(scope="session")
def tiled_onnx(pytestconfig: pytest.Config) -> Path:
    return ensure_assets(pytestconfig.getoption("--tiled-onnx"))


@pytest.fixture(scope="session")
def tiled_trt_engine(pytestconfig: pytest.Config) -> Path | None:
    return pytestconfig.getoption("--tiled-trt-engine")


@pytest.fixture(scope="session")
def tiled_reference_weights(pytestconfig: pytest.Config, tiled_onnx: Path) -> Path:
    return pytestconfig.getoption("--tiled-reference-weights")
