"""Service settings, read from the environment once when the app is created."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer >= {minimum}, but got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be an integer >= {minimum}, but got {value}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if raw.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 0 or 1, but got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """What the service needs to know; every field has an environment variable.

    ``model_path`` (MODEL_PATH, a local directory saved by ``save_pretrained``) wins over
    ``model_id`` (MODEL_ID, a hub id, only usable where the hub is reachable).
    """

    model_path: Optional[str] = None
    model_id: str = "fastino/gliner2-base-v1"
    preload: bool = False
    device: str = "auto"
    # Limits of one request (docs/service.md "Limits"): each is in the OpenAPI schema, and a request
    # over one is refused with a 4xx that names the field, the limit and what was found.
    max_text_chars: int = 10_000
    max_texts: int = 64
    max_labels: int = 32
    max_label_chars: int = 200       # a label, task name, structure name or field spec
    max_tokens: int = 0              # per text with its schema prompt; 0: the encoder's positions
    max_request_tokens: int = 32_768  # all texts of one request together: the work one request may cause
    max_body_bytes: int = 1_048_576
    microbatch: bool = True
    microbatch_window_ms: int = 20
    microbatch_max_items: int = 32
    microbatch_max_tokens: int = 1024  # padded tokens (texts x longest) per model call: length bucketing
    gil_switch_ms: int = 1
    torch_threads: int = 0  # 0: one fewer than the cores this process may use, at least 1
    shutdown_grace_s: float = 5.0    # after SIGTERM: answer what finishes by then, refuse the rest (503)
    inference_min_ms: int = 0        # pads each model call (checks that need a known duration only)

    @property
    def model_source(self) -> str:
        """The directory or hub id handed to ``GLiNER2.from_pretrained``."""
        return self.model_path if self.model_path else self.model_id

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        """Build settings from ``env`` (default: ``os.environ``); raises SettingsError."""
        e = os.environ if env is None else env
        device = e.get("GLINER2_DEVICE", "auto") or "auto"
        if device not in ("auto", "cpu", "cuda"):
            raise SettingsError(f"GLINER2_DEVICE must be auto, cpu or cuda, but got {device!r}")
        return cls(
            model_path=e.get("MODEL_PATH") or None,
            model_id=e.get("MODEL_ID") or cls.model_id,
            # MODEL_PRELOAD=0 is the seed's setting on the Orin (seed 000): the first request loads.
            preload=_flag(e, "MODEL_PRELOAD", False),
            device=device,
            max_text_chars=_int(e, "MAX_TEXT_CHARS", cls.max_text_chars, 1),
            max_texts=_int(e, "MAX_TEXTS", cls.max_texts, 1),
            max_labels=_int(e, "MAX_LABELS", cls.max_labels, 1),
            max_label_chars=_int(e, "MAX_LABEL_CHARS", cls.max_label_chars, 1),
            max_tokens=_int(e, "MAX_TOKENS", cls.max_tokens, 0),
            max_request_tokens=_int(e, "MAX_REQUEST_TOKENS", cls.max_request_tokens, 1),
            max_body_bytes=_int(e, "MAX_BODY_BYTES", cls.max_body_bytes, 1024),
            microbatch=_flag(e, "MICROBATCH", True),
            microbatch_window_ms=_int(e, "MICROBATCH_WINDOW_MS", cls.microbatch_window_ms, 0),
            microbatch_max_items=_int(e, "MICROBATCH_MAX_ITEMS", cls.microbatch_max_items, 1),
            microbatch_max_tokens=_int(e, "MICROBATCH_MAX_TOKENS", cls.microbatch_max_tokens, 1),
            gil_switch_ms=_int(e, "GIL_SWITCH_MS", cls.gil_switch_ms, 1),
            torch_threads=_int(e, "TORCH_THREADS", cls.torch_threads, 0),
            shutdown_grace_s=_int(e, "SHUTDOWN_GRACE_MS", int(cls.shutdown_grace_s * 1000), 0) / 1000.0,
            inference_min_ms=_int(e, "INFERENCE_MIN_MS", cls.inference_min_ms, 0),
        )
