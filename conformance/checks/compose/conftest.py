"""Fixtures of the compose checks: Docker Compose v2, the files as Compose reads them, and the stack itself.

The files are read with `docker compose config` (merged, variables filled in, short syntax expanded), which
needs the binary but no engine. The stack is brought up once per session from `--images-dir`'s base compose
file (plus the Jetson override for the jetson variant) with the images this session built for that tree,
passed in through the file's image variables, so compose runs exactly the images under test.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.config.images import ComposeCriteria, load_compose_criteria
from conformance.docker.compose import ComposeError, Project, anonymous_volumes, find_compose
from conformance.docker.containers import Completed
from conformance.docker.builder import ImageBuildError
from conformance.docker.images import ImageBuilds
from conformance.docker.stack import Readiness, StackError, StackInputs, inputs_root, prepare_inputs, wait_ready

#: Stand-ins for the images and directories when the files are only read, never run.
READ_ONLY_ROOT = Path("/orin-kit-check")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    criteria = load_compose_criteria()
    for argument, kinds in (("service", ("service", "batch")), ("long_running_service", ("service",)),
                            ("batch_service", ("batch",))):
        if argument in metafunc.fixturenames:
            names = [name for name, spec in criteria.services.items() if spec.kind in kinds]
            metafunc.parametrize(argument, names, ids=names)


@pytest.fixture(scope="session")
def compose_criteria() -> ComposeCriteria:
    return load_compose_criteria()


@pytest.fixture(scope="session")
def compose_cli() -> tuple[str, ...]:
    """The Docker Compose v2 command; where there is none the check skips saying what to install."""
    try:
        return find_compose()
    except ComposeError as error:
        pytest.skip(f"docker: {error}")


class ComposeModels:
    """The base file and the base merged with the Jetson override, as `docker compose config` reads them."""

    def __init__(self, images_dir: Path, criteria: ComposeCriteria, cli: tuple[str, ...]) -> None:
        images = {spec.image_variable: f"orin-kit-check/{name}:image-under-test"
                  for name, spec in criteria.services.items()}
        self.env = StackInputs(READ_ONLY_ROOT, images, 8012, "tiny_yolo_b8.onnx").env()
        self.files = {"base": (images_dir / criteria.base,),
                      "jetson": (images_dir / criteria.base, images_dir / criteria.jetson_override)}
        self.cli = cli
        self._read: dict[str, dict[str, Any] | str] = {}

    def services(self, which: str) -> dict[str, Any]:
        """Services of the `base` or `jetson` model; a file compose cannot read fails the check, saying why."""
        if which not in self._read:
            try:
                self._read[which] = Project("orin-kit-check", self.files[which], self.env, self.cli).config()
            except ComposeError as error:
                self._read[which] = str(error)
        read = self._read[which]
        if isinstance(read, str):
            pytest.fail(f"{read}; expected files Docker Compose v2 reads (seed 001 'Phase 2')", pytrace=False)
        return dict(read["services"])


@pytest.fixture(scope="session")
def compose_models(images_dir: Path, compose_criteria: ComposeCriteria,
                   compose_cli: tuple[str, ...]) -> ComposeModels:
    return ComposeModels(images_dir, compose_criteria, compose_cli)


@dataclass
class Stack:
    """The stack of one session: its project, inputs, how `up` went, and when each service became ready."""

    project: Project
    inputs: StackInputs
    criteria: ComposeCriteria
    up_started: float = 0.0
    up: Completed | None = None
    ready: dict[str, Readiness] = field(default_factory=dict)
    is_down: bool = False
    leaked_volumes: set[str] = field(default_factory=set)
    #: where the session's time went (seconds): images, inputs, `compose up`, up to ready; recorded by a check
    timings: dict[str, float] = field(default_factory=dict)

    def bring_up(self) -> None:
        self.up_started = time.time()
        self.up = self.project.up(timeout=600)
        self.timings["compose_up_command_s"] = time.time() - self.up_started
        self.is_down = False
        if self.up.returncode == 0:
            self.ready = wait_ready(self.project, self.criteria.kinds(), self.criteria.batch_wait_s)
        self.timings["up_to_settled_s"] = time.time() - self.up_started
        for container in self.project.containers():
            self.leaked_volumes.update(anonymous_volumes(container.attrs))

    def require_up(self) -> None:
        """Fail the calling check when `docker compose up` itself failed (re-up after the `down` check)."""
        if self.is_down:
            self.bring_up()
        assert self.up is not None
        if self.up.returncode != 0:
            tail = " | ".join(self.up.stderr.strip().splitlines()[-4:])
            pytest.fail(f"`docker compose up` of {', '.join(str(f) for f in self.project.files)} exited "
                        f"{self.up.returncode}: {tail}; expected the stack to start (seed 001 P0 '`docker-compose "
                        "up` starts container successfully')", pytrace=False)

    def deployment_s(self) -> float | None:
        """From `compose up` to the last service ready, on the engine's clock; None if one never was."""
        times = [r.ready_at for r in self.ready.values()]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None) - self.up_started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, compose_cli: tuple[str, ...], compose_criteria: ComposeCriteria,
          images_dir: Path, image_variant: str, prebuilt_image: str | None) -> Iterator[Stack]:
    """The stack brought up once per session with the images under test; taken down, volumes and all, after."""
    if prebuilt_image:
        pytest.skip(f"--image {prebuilt_image} is one image; the stack runs every image of the tree: certify the "
                    "tree with --images-dir")
    from conformance.builders.gliner2_model import ensure, is_built
    from conformance.builders.scenes import motion_scene, write_video
    from conformance.service.local import default_model
    from conformance.tiled.assets import default_onnx, ensure_detector

    # the assets are usually built already (make setup): import the heavy builders only when they are not
    if not is_built(default_model()):
        pytest.importorskip("gliner2", reason="the stack's tiny GLiNER2 model needs the gliner2 extra")
    if not default_onnx().is_file():
        pytest.importorskip("torch", reason="the stack's tiny detector needs torch==2.13.0 (the dev extra)")

    started = time.monotonic()
    builds: ImageBuilds = request.getfixturevalue("image_builds")
    try:
        images = {spec.image_variable: builds.get(name).tag for name, spec in compose_criteria.services.items()}
    except ImageBuildError as error:
        pytest.fail(f"the images of {images_dir} do not build, so the stack cannot start: {error}", pytrace=False)
    images_s = time.monotonic() - started
    name = f"orinkit-check-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    detector = ensure_detector()
    try:
        inputs = prepare_inputs(inputs_root(name), images, _free_port(), ensure(default_model()),
                                detector, detector.parent / "labels.txt",
                                lambda path: write_video(motion_scene(1280, 720, frames=6), path))
    except StackError as error:
        pytest.fail(str(error), pytrace=False)
    files = [images_dir / compose_criteria.base]
    if image_variant == "jetson":
        files.append(images_dir / compose_criteria.jetson_override)
    stack = Stack(Project(name, tuple(files), inputs.env(), compose_cli), inputs, compose_criteria)
    stack.timings.update(images_s=images_s, inputs_s=time.monotonic() - started - images_s)
    try:
        stack.bring_up()
        yield stack
    finally:
        _tear_down(stack)


def _tear_down(stack: Stack) -> None:
    """Remove everything the session's project made, whatever the checks did to it."""
    import docker

    from conformance.docker.containers import client

    stack.project.down("--volumes", "--remove-orphans")
    for container in stack.project.containers():  # a container compose lost track of
        container.remove(force=True, v=True)
    # an `up` that failed half-way leaves volumes the engine made itself, unlabelled, which `down` skips
    named = {v.name for v in client().volumes.list(filters={"name": f"{stack.project.name}_"})}
    for volume in stack.leaked_volumes | named:
        try:
            client().volumes.get(volume).remove(force=True)
        except docker.errors.NotFound:
            pass
    shutil.rmtree(stack.inputs.root, ignore_errors=True)
