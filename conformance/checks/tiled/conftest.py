"""Fixtures of the tiled-detection checks.

Each check family is pointed at the thing under test by an option whose default is the real thing
(`--tiled-tiler`, `--tiled-merger`, `--tiled-slicer`, ...); the self-proofs point them at known-bad
fixtures in ``fixtures/tiled/bad/``. A SPEC is ``package.module:attr`` or ``path/to/file.py:attr``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
import pytest

from conformance import SOURCE_ROOT
from conformance.config import ConfigError
from conformance.config.tiled import TiledCriteria, load_tiled_criteria
from conformance.tiled.assets import default_onnx, ensure_detector, ensure_frame_detector, float_onnx_of
from conformance.util.specs import SpecError, load_spec


def _spec(config: pytest.Config, option: str) -> Any:
    try:
        return load_spec(config.getoption(option), base=SOURCE_ROOT)
    except SpecError as error:
        raise pytest.UsageError(f"{option}: {error}") from None


def criteria_of(config: pytest.Config) -> TiledCriteria:
    """The criteria file named by ``--tiled-criteria`` (also at collection time, for parametrisation)."""
    try:
        return load_tiled_criteria(config.getoption("--tiled-criteria"))
    except ConfigError as error:
        raise pytest.UsageError(f"--tiled-criteria: {error}") from None


@pytest.fixture(scope="session")
def tiled_criteria(pytestconfig: pytest.Config) -> TiledCriteria:
    return criteria_of(pytestconfig)


@pytest.fixture(scope="session")
def tiled_tiler(pytestconfig: pytest.Config) -> Callable[..., npt.NDArray[np.int32]]:
    return _spec(pytestconfig, "--tiled-tiler")


@pytest.fixture(scope="session")
def tiled_merger(pytestconfig: pytest.Config) -> Any:
    return _spec(pytestconfig, "--tiled-merger")


@pytest.fixture(scope="session")
def tiled_tracker_factory(pytestconfig: pytest.Config) -> Callable[[], Any]:
    return _spec(pytestconfig, "--tiled-tracker")


@pytest.fixture(scope="session")
def tiled_engine_loader(pytestconfig: pytest.Config) -> Callable[[Path], Any]:
    return _spec(pytestconfig, "--tiled-engine-loader")


@pytest.fixture(scope="session")
def tiled_slicer(pytestconfig: pytest.Config) -> Callable[..., Any]:
    return _spec(pytestconfig, "--tiled-slicer")


@pytest.fixture(scope="session")
def tiled_onnx(pytestconfig: pytest.Config) -> Path:
    chosen: Path | None = pytestconfig.getoption("--tiled-onnx")
    if chosen is None:
        pytest.importorskip("torch", reason="building the tiny detector needs torch==2.13.0 (the dev extra)")
        return ensure_detector(default_onnx())
    if not chosen.is_file():
        raise pytest.UsageError(f"--tiled-onnx {chosen}: no such file")
    return chosen


@pytest.fixture(scope="session")
def tiled_trt_engine(pytestconfig: pytest.Config) -> Path | None:
    return pytestconfig.getoption("--tiled-trt-engine")


@pytest.fixture(scope="session")
def tiled_reference_weights(pytestconfig: pytest.Config, tiled_onnx: Path) -> Path:
    chosen: Path | None = pytestconfig.getoption("--tiled-reference-weights")
    return chosen or tiled_onnx.with_suffix(".pt")


@pytest.fixture(scope="session")
def tiled_float_onnx(pytestconfig: pytest.Config, tiled_onnx: Path) -> Path:
    chosen: Path | None = pytestconfig.getoption("--tiled-float-onnx")
    return chosen or float_onnx_of(tiled_onnx)


@pytest.fixture(scope="session")
def tiled_frame_onnx(pytestconfig: pytest.Config, tiled_onnx: Path, tiled_criteria: TiledCriteria) -> Path:
    chosen: Path | None = pytestconfig.getoption("--tiled-frame-onnx")
    if chosen is None:
        pytest.importorskip("onnx", reason="preparing the frame-input model needs onnx (the dev extra)")
        width, height = tiled_criteria.parity.frame_model_size
        return ensure_frame_detector(tiled_onnx, (width, height))
    if not chosen.is_file():
        raise pytest.UsageError(f"--tiled-frame-onnx {chosen}: no such file")
    return chosen
