"""`compose up|down`: the stack on this machine in one command, the way the compose checks bring it up.

`up` builds (or reuses) the images of the tree for the variant, lays out their inputs under the kit's work
directory (the models and a video readable by the images' non-root user, output and logs writable by it),
runs `docker compose up --detach` with the variables pointing at them, and waits until every service is ready.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import IMAGES_DIR, work_dir

if TYPE_CHECKING:
    from conformance.docker.stack import StackInputs

PROJECT = "orin-kit"


def register(sub: Any) -> None:
    parser = sub.add_parser("compose", help="bring the reference stack up (or down) with docker compose")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--images-dir", type=Path, default=IMAGES_DIR, help="tree whose images and compose files "
                        "to run (default: the kit's own)")
    parser.add_argument("--jetson", action="store_true", help="the jetson images with the Jetson override "
                        "(nvidia runtime, GPU nodes); on an Orin")
    parser.add_argument("--engine", type=Path, default=None, help="detector for the YOLO service: ONNX or a "
                        "TensorRT .engine (default: the kit's tiny ONNX detector)")
    parser.add_argument("--labels", type=Path, default=None, help="its class names (default: labels.txt beside it)")
    parser.add_argument("--video", type=Path, default=None, help="video the YOLO service processes (default: the "
                        "kit's demo clip)")
    parser.add_argument("--port", type=int, default=8012, help="host port of the GLiNER2 service (127.0.0.1)")
    parser.set_defaults(func=run)


def _files(args: argparse.Namespace) -> tuple[Path, ...]:
    from conformance.config.images import load_compose_criteria

    criteria = load_compose_criteria()
    base = args.images_dir / criteria.base
    return (base, args.images_dir / criteria.jetson_override) if args.jetson else (base,)


def run(args: argparse.Namespace) -> int:
    from conformance.config.images import load_compose_criteria
    from conformance.docker.compose import Project
    from conformance.docker.stack import StackInputs, inputs_root, wait_ready

    root = inputs_root(PROJECT)
    criteria = load_compose_criteria()
    # compose needs every variable to read the files, not the real images, to find the project's containers
    env = StackInputs(root, {s.image_variable: "orin-kit/none" for s in criteria.services.values()}, args.port,
                      "none").env()
    down = Project(PROJECT, _files(args), env).down("--remove-orphans")  # an earlier stack mounts root
    if args.action == "down":
        print(down.stderr.strip() or down.stdout.strip())
        return down.returncode
    inputs = _inputs(args, root)
    project = Project(PROJECT, _files(args), inputs.env())
    start = time.time()
    project.check("up", "--detach", "--pull", "never", "--no-build", timeout=600)
    # wait for the services; a batch run goes on in the background (`docker compose logs -f` follows it)
    services = {name: kind for name, kind in criteria.kinds().items() if kind == "service"}
    ready = wait_ready(project, services, criteria.batch_wait_s)
    for name, state in ready.items():
        at = f", {state.ready_at - start:.1f} s after `docker compose up`" if state.ready_at else ""
        print(f"{name}: {state.state}{at}")
    for name in sorted(criteria.kinds().keys() - services.keys()):
        state = project.container(name).attrs["State"]
        code = f" (exit {state['ExitCode']})" if state["Status"] == "exited" else ""
        print(f"{name}: {state['Status']}{code}; writes to {inputs.output_dir}")
    print(f"GLiNER2 at http://127.0.0.1:{args.port}; logs: {' '.join(project.cli)} -p {PROJECT} logs -f; "
          f"stop: python -m conformance compose down{' --jetson' if args.jetson else ''}")
    return 0 if all(r.ready for r in ready.values()) else 1


def _inputs(args: argparse.Namespace, root: Path) -> StackInputs:
    """Images built for the variant, then the inputs laid out under root (replacing an earlier layout)."""
    from conformance.builders.gliner2_model import ensure
    from conformance.builders.scenes import motion_scene, write_video
    from conformance.config.images import load_compose_criteria, load_variants
    from conformance.docker.builder import detect_builder
    from conformance.docker.images import ImageBuilds
    from conformance.docker.stack import prepare_inputs
    from conformance.service.local import default_model
    from conformance.tiled.assets import ensure_detector, tiled_dir

    variants, specs = load_variants()
    scratch = Path(tempfile.mkdtemp(prefix="orin-kit-compose-"))
    try:
        builds = ImageBuilds(detect_builder(), args.images_dir.resolve(), variants["jetson" if args.jetson else
                             "generic"], specs, work_dir() / "compose" / "logs", scratch, work_dir() / "wheelhouse",
                             3600)
        images = {s.image_variable: builds.get(name).tag for name, s in load_compose_criteria().services.items()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    engine = args.engine or ensure_detector()
    demo = args.video or tiled_dir() / "demo.mp4"

    def video(path: Path) -> None:
        if demo.is_file():
            shutil.copy(demo, path)
        else:
            write_video(motion_scene(1280, 720, frames=30), path)

    return prepare_inputs(root, images, args.port, ensure(default_model()), engine,
                          args.labels or engine.parent / "labels.txt", video)
