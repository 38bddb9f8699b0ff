"""Loading the GLiNER2 model once, off the event loop, on the device the machine offers."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from .settings import Settings

LOG = logging.getLogger("app.gliner2_service")

#: The device-tree model string names the board on a Jetson (/proc/device-tree/model, written by L4T).
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says why and is sent to clients with a 503."""


@dataclass(frozen=True)
class LoadedModel:
    """A loaded extractor and where it runs."""

    model: Any
    source: str
    device: str
    device_label: str
    load_seconds: float


def describe_device(device: str, device_tree_model: Path = DEVICE_TREE_MODEL) -> str:
    """The device as the seed's log line names it: ``GPU (Orin)`` on a Jetson (seed 000)."""
    if device != "cuda":
        return "CPU"
    try:
        board = device_tree_model.read_text(errors="replace").strip("\x00\n ")
    except OSError:
        board = ""
    if "Orin" in board:
        return "GPU (Orin)"
    import torch

    return f"GPU ({torch.cuda.get_device_name(0)})"


def choose_device(requested: str) -> str:
    """``cuda`` when requested or (``auto``) when available, else ``cpu``."""
    if requested == "cpu":
        return "cpu"
    import torch

    available = bool(torch.cuda.is_available())
    if requested == "cuda" and not available:
        raise ModelLoadError("GLINER2_DEVICE=cuda but torch sees no CUDA device; use auto or cpu")
    return "cuda" if available else "cpu"


def load_gliner2(source: str, device: str) -> Any:
    """Load through the library's real loader (``GLiNER2.from_pretrained``)."""
    from gliner2 import GLiNER2

    return GLiNER2.from_pretrained(source, map_location=device)


class ModelManager:
    """Loads the model exactly once, also when many first requests arrive together.

    Loading runs on the inference executor so the event loop keeps answering ``/health``.
    A failed load is not remembered: the next request tries again and gets the reason.
    """

    def __init__(
        self,
        settings: Settings,
        executor: ThreadPoolExecutor,
        loader: Callable[[str, str], Any] = load_gliner2,
    ) -> None:
        self._settings = settings
        self._executor = executor
        self._loader = loader
        self._lock = asyncio.Lock()
        self._loaded: Optional[LoadedModel] = None
        self.last_error: Optional[str] = None
        self.load_count = 0
        self.on_loaded: Optional[Callable[[LoadedModel], None]] = None

    @property
    def loaded(self) -> Optional[LoadedModel]:
        return self._loaded

    def _load_sync(self) -> LoadedModel:
        source = self._settings.model_source
        if self._settings.model_path is not None and not os.path.isdir(source):
            raise ModelLoadError(
                f"MODEL_PATH {source!r} is not a directory; expected a model saved by "
                "GLiNER2.save_pretrained (e.g. build/models/gliner2-tiny from `make setup`)"
            )
        device = choose_device(self._settings.device)
        start = time.perf_counter()
        try:
            model = self._loader(source, device)
        except ModelLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - any loader failure becomes a 503 with its reason
            raise ModelLoadError(f"loading {source!r} failed: {type(exc).__name__}: {exc}") from exc
        seconds = time.perf_counter() - start
        return LoadedModel(model, source, device, describe_device(device), seconds)

    async def get(self) -> LoadedModel:
        """The loaded model, loading it first if needed; raises ModelLoadError."""
        if self._loaded is not None:
            return self._loaded
        async with self._lock:
            if self._loaded is not None:
                return self._loaded
            loop = asyncio.get_running_loop()
            try:
                loaded = await loop.run_in_executor(self._executor, self._load_sync)
            except ModelLoadError as exc:
                self.last_error = str(exc)
                LOG.error("GLiNER2 model not loaded: %s", exc)
                raise
            self.load_count += 1
            self.last_error = None
            self._loaded = loaded
            # The seed's line (seed 000 "Known Working Signals"): "GLiNER2 loaded on GPU (Orin)".
            LOG.info("GLiNER2 loaded on %s in %.3f s from %s", loaded.device_label,
                     loaded.load_seconds, loaded.source)
            if self.on_loaded is not None:
                self.on_loaded(loaded)
            return loaded
