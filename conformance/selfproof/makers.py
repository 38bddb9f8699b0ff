"""Makers of known-bad inputs that are generated, not stored: `{make:NAME}` and `{nms:FILE}` placeholders.

Each maker is a context manager yielding the value to put in the check's options (a path or a URL), so a
maker that starts something (a service) stops it when the proof run ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from conformance.nms.library import NMS_DIR, build_default_library

Maker = Callable[[Path], AbstractContextManager[str]]
MAKERS: dict[str, Maker] = {}


def maker(name: str) -> Callable[[Maker], Maker]:
    def register(function: Maker) -> Maker:
        MAKERS[name] = function
        return function
    return register


def make(name: str, scratch: Path) -> AbstractContextManager[str]:
    if name not in MAKERS:
        from conformance.selfproof import ProofInputError

        raise ProofInputError(f"{{make:{name}}}: no such maker; expected one of {', '.join(sorted(MAKERS))}")
    scratch.mkdir(parents=True, exist_ok=True)
    return MAKERS[name](scratch)


def nms_build(file: str) -> Path:
    """A build of nms_cpp/build/FILE (the Makefile's known-bad and sanitizer variants), made if missing."""
    path = NMS_DIR / "build" / file
    if not path.is_file():
        build_default_library()
    if not path.is_file():
        from conformance.selfproof import ProofInputError

        raise ProofInputError(f"{{nms:{file}}}: `make -C nms_cpp all` made no {path}")
    return path


@maker("tiled-other-seed")
@contextmanager
def _tiled_other_seed(scratch: Path) -> Iterator[str]:
    """The tiny detector's twin from another seed, untrained: the parity check's known-bad model."""
    from conformance.tiled.assets import ensure_detector, ensure_other_seed_detector

    ensure_detector()
    yield str(ensure_other_seed_detector())


@maker("tiled-short-criteria")
@contextmanager
def _tiled_short_criteria(scratch: Path) -> Iterator[str]:
    """The shipped tiled criteria with fewer frames, so the known-bad perf runs stay short."""
    import yaml

    from conformance.config.tiled import load_tiled_criteria

    data = load_tiled_criteria()
    data["performance"].update(fps_frames=8, fps_warmup_frames=2, rss_frames=300, rss_warmup_frames=10)
    path = scratch / "criteria.yaml"
    path.write_text(yaml.safe_dump(data))
    yield str(path)


@maker("gliner2-unbatched-service")
@contextmanager
def _gliner2_unbatched(scratch: Path) -> Iterator[str]:
    """A local GLiNER2 service with micro-batching off: it serves one request at a time (its URL)."""
    from conformance.builders.gliner2_model import ensure
    from conformance.service.local import default_model, start_service

    service = start_service(scratch, "unbatched", env={"MODEL_PATH": str(ensure(default_model())),
                                                       "MICROBATCH": "0"})
    try:
        yield service.url
    finally:
        service.stop()
