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


@maker("tiled-frame-other-overlap")
@contextmanager
def _tiled_frame_other_overlap(scratch: Path) -> Iterator[str]:
    """The tiny detector prepared for 1080p frames with overlap 0.1 instead of the app's 0.2: as many tiles,
    other crops (the frame-input parity check's known-bad model)."""
    from conformance.tiled.assets import ensure_detector, ensure_frame_detector, tiled_dir

    onnx = ensure_detector()
    yield str(ensure_frame_detector(onnx, (1920, 1080), overlap=0.1,
                                    out=tiled_dir() / "bad" / "tiny_yolo_b8_frame1920x1080_overlap0.1.onnx"))


@maker("tiled-short-criteria")
@contextmanager
def _tiled_short_criteria(scratch: Path) -> Iterator[str]:
    """The shipped tiled criteria with fewer frames, so the known-bad perf runs stay short."""
    import yaml

    from conformance.config.tiled import load_tiled_criteria

    data = load_tiled_criteria().model_dump(mode="json")
    data["performance"].update(fps_frames=8, fps_warmup_frames=2, rss_frames=300, rss_warmup_frames=10)
    path = scratch / "criteria.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
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


@maker("profiles-1s-deployment-budget")
@contextmanager
def _profiles_1s_deployment_budget(scratch: Path) -> Iterator[str]:
    """The kit's profiles with `deployment_s_max: 1`: no compose stack meets it, since Docker runs a service's
    first health probe one interval (5 s for the GLiNER2 image) after the container starts."""
    import re

    from conformance.config.profiles import PROFILES_DIR

    for path in sorted(PROFILES_DIR.glob("*.yaml")):
        text, count = re.subn(r"(?m)^(\s*deployment_s_max:\s*)[0-9.]+", r"\g<1>1", path.read_text())
        if count != 1:
            from conformance.selfproof import ProofInputError

            raise ProofInputError(f"{path}: expected one `deployment_s_max:` line to replace, found {count}")
        (scratch / path.name).write_text(text)
    yield str(scratch)


@maker("device-other-seed-detector-weights")
@contextmanager
def _device_other_seed_detector_weights(scratch: Path) -> Iterator[str]:
    """Torch weights of the tiny detector from another seed: the gpu tier's known-bad CPU reference."""
    from conformance.tiled.assets import ensure_other_seed_detector

    yield str(ensure_other_seed_detector().with_suffix(".pt"))


@maker("device-other-seed-gliner2")
@contextmanager
def _device_other_seed_gliner2(scratch: Path) -> Iterator[str]:
    """A tiny GLiNER2 model from another seed: the gpu tier's known-bad CPU reference."""
    from conformance.builders.gliner2_model import build

    yield str(build(scratch / "gliner2-seed-1", seed=1))


@maker("images-requesting-gpus")
@contextmanager
def _images_requesting_gpus(scratch: Path) -> Iterator[str]:
    """A copy of the images tree with a script that runs `docker run --gpus all` and a compose file that reserves
    GPU devices: what Jetson refuses (the device tier's runtime-flag check)."""
    import shutil

    from conformance import IMAGES_DIR

    tree = scratch / "images"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(IMAGES_DIR, tree)
    (tree / "run-on-gpu.sh").write_text('#!/bin/sh\nexec docker run --rm --gpus all "$@"\n')
    (tree / "compose.gpus.yaml").write_text(
        "services:\n  gliner2:\n    deploy:\n      resources:\n        reservations:\n          devices:\n"
        "            - driver: nvidia\n              count: all\n              capabilities: [gpu]\n")
    yield str(tree)


@maker("image-ceilings-below-any-image")
@contextmanager
def _image_ceilings(scratch: Path) -> Iterator[str]:
    """A profiles directory holding generic-host with build-time and size ceilings no image can meet (the
    image build checks' known-bad: a 15-minute build or a 10 GB image cannot be made in CI)."""
    import yaml

    from conformance.config import read_yaml
    from conformance.config.profiles import GENERIC_PROFILE, PROFILES_DIR

    data = read_yaml(PROFILES_DIR / f"{GENERIC_PROFILE}.yaml")
    data["name"] = "ceilings-below-any-image"
    data["thresholds"].update(build_minutes_max=0.0001, image_size_gb_max=0.001)
    (scratch / "profiles").mkdir(exist_ok=True)
    (scratch / "profiles" / "ceilings-below-any-image.yaml").write_text(yaml.safe_dump(data))
    yield str(scratch / "profiles")
