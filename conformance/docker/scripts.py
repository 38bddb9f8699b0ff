"""What `images/build.sh` and `images/run.sh` do (seed 001 "Phase 3: Build & Run Scripts"), on the kit's one
implementation of builder detection, build contexts, variants and tags (the checks build the same way).

- build: the images of a tree for a variant, tagged `orin-kit/NAME:VARIANT[SUFFIX]` (what the compose files
  run) besides the kit's input-digest tag; prints size and time.
- run: the tiled YOLO image on a video: model and videos read-only, output read-write, the nvidia runtime on a
  Jetson (never `--gpus`), logs streamed, the container removed at the end.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance import work_dir
from conformance.config.images import load_variants
from conformance.docker.builder import detect_builder
from conformance.docker.engine import docker_info
from conformance.docker.images import TAG_REPO, ImageBuilds
from conformance.docker.inspect import image_size_bytes
from conformance.docker.wheelhouse import default_wheelhouse


class ScriptError(RuntimeError):
    """Bad arguments or an unusable machine for build/run; the message is one line for the user."""


def on_jetson() -> bool:
    """tegra in /proc/cpuinfo, or an L4T release file: the scripts' own test for a Jetson."""
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text(errors="replace").lower() if cpuinfo.is_file() else ""
    return "tegra" in text or Path("/etc/nv_tegra_release").is_file()


def build(images_dir: Path, variant: str | None, which: str, suffix: str, no_cache: bool,
          say: Callable[[str], object] = print) -> list[str]:
    """Build the images `which` (a name or "all") of images_dir for variant; returns the tags made."""
    variants, specs = load_variants()
    variant = variant or ("jetson" if on_jetson() else "generic")
    if variant not in variants:
        raise ScriptError(f"--variant must be {' or '.join(variants)}, got '{variant}'")
    names = sorted(specs) if which == "all" else [which]
    if which != "all" and which not in specs:
        raise ScriptError(f"--image must be {', '.join(sorted(specs))} or all, got '{which}'")
    if variant == "jetson" and not on_jetson():
        say("warning: not a Jetson (no tegra in /proc/cpuinfo); the jetson variant needs arm64 L4T bases")
    builder = detect_builder()
    with tempfile.TemporaryDirectory(prefix="orin-kit-build-") as scratch:
        builds = ImageBuilds(builder, images_dir.resolve(), variants[variant], specs, work_dir() / "logs",
                             Path(scratch), default_wheelhouse(), timeout_s=3600)
        made = []
        for name in names:
            tag = f"{TAG_REPO}/{name}:{variant}{suffix}"
            say(f"==> building {tag} ({_shown(images_dir / specs[name].dockerfile)}, network: "
                f"{variants[variant].network})")
            start = time.monotonic()
            result = (builds.build_in(builds.copy_context("no-cache"), name, "", no_cache=True, echo=say)
                      if no_cache else builds.get(name, echo=say).build)
            if result is None:
                raise ScriptError(f"{name}: nothing was built")
            subprocess.run([builder.docker, "tag", result.tag, tag], check=True, capture_output=True)
            size = image_size_bytes(builder.docker, tag) / 1e9
            how = ("reused: built before from the same input" if result.reused
                   else f"in {time.monotonic() - start:.0f} s")
            say(f"==> built {tag} ({how}), {size:.2f} GB")
            made.append(tag)
    say("Run: images/run.sh --help   |   compose: docker compose -f images/compose.yaml up -d")
    return made


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class RunRequest:
    input: Path
    model: Path
    labels: Path | None = None
    output: str | None = None
    conf: float | None = None
    tag: str | None = None
    gpu: bool | None = None
    app_args: Sequence[str] = ()


NVIDIA_ENV = {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility,video"}


def run_tiled(request: RunRequest, say: Callable[[str], object] = print) -> int:
    """Run the tiled app of the YOLO image on request.input; returns the container's exit code."""
    import docker

    from conformance.docker.containers import client

    if not request.input.is_file():
        raise ScriptError(f"--input must name an existing video file, got '{request.input}'")
    if not request.model.is_file():
        raise ScriptError(f"--model must name an existing .onnx or .engine file, got '{request.model}'")
    labels = request.labels or request.model.parent / "labels.txt"
    if not labels.is_file():
        raise ScriptError(f"--labels must name a class-names file (one per line), got '{labels}'")
    gpu = on_jetson() if request.gpu is None else request.gpu
    tag = request.tag or f"{TAG_REPO}/yolo-tiled:{'jetson' if gpu else 'generic'}"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    output = request.output or f"{request.input.stem}.{stamp}.mp4"
    outdir = Path.cwd() / "output"
    outdir.mkdir(parents=True, exist_ok=True)
    if outdir.stat().st_uid != 1000:  # the image runs as uid 1000: the output dir must be writable for it
        outdir.chmod(0o777)
    extra: dict[str, object] = {}
    if gpu:
        # Jetson: the nvidia runtime, not --gpus (which fails on Jetson); check it is registered first.
        runtimes = docker_info().get("Runtimes")
        if not isinstance(runtimes, dict) or "nvidia" not in runtimes:
            raise ScriptError("the nvidia runtime is not registered with Docker; install nvidia-container-runtime "
                              "or use --cpu")
        extra = {"runtime": "nvidia", "environment": NVIDIA_ENV, "network_mode": "host"}
    model, video_dir = request.model.resolve(), request.input.resolve().parent
    command = ["python3", "-m", "app.tiled", "--input", f"/videos/{request.input.name}", "--output",
               f"/output/{output}", "--engine", f"/models/{model.name}", "--labels", "/models/labels.txt"]
    if request.conf is not None:
        command += ["--conf", str(request.conf)]
    volumes = {str(model): {"bind": f"/models/{model.name}", "mode": "ro"},
               str(labels.resolve()): {"bind": "/models/labels.txt", "mode": "ro"},
               str(video_dir): {"bind": "/videos", "mode": "ro"}, str(outdir): {"bind": "/output", "mode": "rw"}}
    try:
        container = client().containers.run(tag, [*command, *request.app_args], detach=True, shm_size="2g",
                                            volumes=volumes, name=f"yolo-tiled-{stamp}-{id(request) % 100000}",
                                            **extra)
    except docker.errors.ImageNotFound:
        raise ScriptError(f"no image {tag}: build it with images/build.sh") from None
    except docker.errors.DockerException as error:
        raise ScriptError(f"`docker run {tag}` failed: {error}") from None
    try:
        for chunk in container.logs(stream=True, follow=True):
            say(chunk.decode(errors="replace").rstrip("\n"))
        code = int(container.wait()["StatusCode"])
    finally:
        container.remove(force=True)
    say(f"output: {outdir / output}")
    return code
