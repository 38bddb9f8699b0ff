"""What one request asks of the model, checked against what the model can take before it is queued.

Runs on its own thread (not the inference thread, not the event loop): the library's schema is built
and every text is collated exactly as ``batch_extract`` will collate it, so the token count that is
checked is the one the encoder would see. A request the model cannot take is refused here with a
``RequestRefused`` that names the field, the limit and what was found; it never reaches a batch.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .settings import Settings


class RequestRefused(ValueError):
    """A well-typed request the model cannot take (answered 422 with this message)."""


@dataclass(frozen=True)
class Task:
    """What to extract: ``kind`` is entities, classify or json; ``spec`` its labels/tasks/structures."""

    kind: str
    spec: Tuple[Any, ...]

    def keys(self) -> List[str]:
        """Labels (entities), task names (classify) or structure names (json)."""
        if self.kind == "entities":
            return [str(x) for x in self.spec]
        return [str(name) for name, _ in self.spec]

    def schema(self, model: Any) -> Any:
        """The library schema for this task (the same builders the single-text helpers use)."""
        if self.kind == "entities":
            return model.create_schema().entities(list(self.spec))
        if self.kind == "classify":
            return model._classification_schema({k: list(v) for k, v in self.spec})
        if self.kind == "json":
            return model._json_schema({k: list(v) for k, v in self.spec})
        raise ValueError(f"task kind must be entities, classify or json, but got {self.kind!r}")

    def normalize(self, raw: Mapping[str, Any]) -> Dict[str, Any]:
        """Give every answer the same shape: every requested key present, lists never None."""
        if self.kind == "entities":
            found = raw.get("entities", {}) or {}
            return {"entities": {label: [str(x) for x in (found.get(label) or [])]
                                 for label in self.keys()}}
        if self.kind == "classify":
            out: Dict[str, Any] = {}
            for task in self.keys():
                value = raw.get(task)
                out[task] = value if isinstance(value, (str, list)) else None
            return {"classification": out}
        return {"structures": {name: list(raw.get(name) or []) for name in self.keys()}}


@dataclass(frozen=True)
class Prepared:
    """A request's texts with the library schema and each text's token count (schema prompt included)."""

    texts: Tuple[str, ...]
    task: Task
    schema: Any
    tokens: Tuple[int, ...]


def token_limit(model: Any, settings: Settings) -> int:
    """Tokens one text may take with its prompt: MAX_TOKENS, capped by absolute position embeddings."""
    config = getattr(getattr(model, "encoder", None), "config", None)
    positions = int(getattr(config, "max_position_embeddings", 0) or 0)
    # Relative-position encoders (DeBERTa-v3, GLiNER2's real backbone) take longer inputs than their
    # nominal positions; absolute ones (BERT) index past the table and fail (the 500 of issue 11).
    absolute = getattr(config, "position_embedding_type", "absolute") == "absolute" and \
        getattr(config, "position_biased_input", True)
    caps = [c for c in (settings.max_tokens, positions if absolute else 0) if c > 0]
    return min(caps) if caps else 4096


def _counter(model: Any) -> Any:
    counter = getattr(model, "_orin_token_counter", None)
    if counter is None:
        from gliner2.training.trainer import ExtractorCollator  # lazy: imported by batch_extract too

        counter = ExtractorCollator(model.processor, is_training=False, architecture=model.architecture)
        model._orin_token_counter = counter
    return counter


def prepare(model: Any, texts: List[str], task: Task, settings: Settings, what: str) -> Prepared:
    """Build the schema and count tokens; raises RequestRefused naming the field, limit and finding."""
    try:
        schema = task.schema(model)
        schema_dict = model._build_schema_dicts_and_metadata([schema])[0][0]
    except (ValueError, KeyError, TypeError) as exc:
        raise RequestRefused(f"{what}: the model cannot build a schema from them: {exc}") from None
    limit = token_limit(model, settings)
    counter = _counter(model)
    tokens: List[int] = []
    for i, text in enumerate(texts):
        batch = counter([(text, schema_dict)])
        count = int(batch.input_ids.shape[1])
        where = f"text[{i}]" if len(texts) > 1 else "text"
        if count > limit:
            raise RequestRefused(
                f"{where} with its schema prompt must be at most {limit} tokens (MAX_TOKENS: the model's "
                f"positions), but got {count} tokens ({len(text)} characters); split the text")
        if not any(int(n) for n in getattr(batch, "text_word_counts", [1])):
            raise RequestRefused(f"{where} must contain a word the model can read, but got {text[:40]!r}")
        tokens.append(count)
    if sum(tokens) > settings.max_request_tokens:
        raise RequestRefused(
            f"text: all texts with their schema prompts must be at most {settings.max_request_tokens} tokens "
            f"together (MAX_REQUEST_TOKENS: the work one request may cause), but got {sum(tokens)} in "
            f"{len(texts)} texts; send fewer or shorter texts")
    return Prepared(tuple(texts), task, schema, tuple(tokens))


_LIBC: Optional[Any] = None


def release_memory() -> None:
    """Hand freed heap back to the system (glibc keeps it in its arenas otherwise; issue 11's 1.76 GB)."""
    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    trim = getattr(_LIBC, "malloc_trim", None) if _LIBC else None
    if trim is not None:
        trim(0)
