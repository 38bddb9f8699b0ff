"""Options and fixtures of the images checks (a sub-plugin loaded by conformance.plugin).

Each image is built once per session (lazily, only when a selected check needs it) from the Dockerfiles
of `--images-dir` for the session's `image_variant`, or taken as given with `--image TAG`. Checks that
take `image_name` are parametrized over the images of fixtures/images/variants.yaml, ids = image names.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from conformance import REPO_ROOT
from conformance.engine import Builder
from conformance.images import (IMAGES_DIR, TAG_REPO, WHEELHOUSE, BuildResult, ImageBuildError, ImageSpec,
                                ImagesError, Variant, build_image, build_wheelhouse, load_variants,
                                variant_build_args)

IMAGE_LABEL = "org.orin-kit.image"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--fetch-script", metavar="PATH", type=Path,
                    default=REPO_ROOT / "images" / "common" / "fetch-wheel.sh",
                    help="wheel download script the retry check exercises (default: %(default)s)")
    group.addoption("--build-timeout", metavar="S", type=float, default=3600.0,
                    help="give up on one image build after S seconds (default: %(default)s)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "image_name" in metafunc.fixturenames:
        _, specs = load_variants()
        names = sorted(specs)
        metafunc.parametrize("image_name", names, ids=names, scope="session")


@dataclass(frozen=True)
class BuiltImage:
    """An image under test: its tag, what the checks expect of it, and its build (None with --image)."""

    name: str
    tag: str
    spec: ImageSpec
    variant: Variant
    build: BuildResult | None
    dockerfile: Path


class ImageBuilds:
    """Builds each image at most once per session; a failed build is remembered and re-raised."""

    def __init__(self, builder: Builder, images_dir: Path, variant: Variant, specs: dict[str, ImageSpec],
                 logs_dir: Path, timeout_s: float) -> None:
        self.builder = builder
        self.images_dir = images_dir
        self.variant = variant
        self.specs = specs
        self.logs_dir = logs_dir
        self.timeout_s = timeout_s
        self._done: dict[str, BuiltImage | ImagesError] = {}

    def tag_for(self, name: str, dockerfile: Path) -> str:
        """Our own images get `orin-kit/NAME:VARIANT`; another tree's get a tag naming its Dockerfile."""
        tag = f"{TAG_REPO}/{name}:{self.variant.name}"
        if self.images_dir.resolve() != IMAGES_DIR.resolve():
            tag += "-" + hashlib.sha256(dockerfile.read_bytes()).hexdigest()[:10]
        return tag

    def build_args(self) -> dict[str, str]:
        if self.variant.name == "generic":
            build_wheelhouse()
        return variant_build_args(self.variant)

    def get(self, name: str) -> BuiltImage:
        if name not in self._done:
            spec = self.specs[name]
            dockerfile = self.images_dir / spec.dockerfile
            tag = self.tag_for(name, dockerfile)
            try:
                result = build_image(self.builder, dockerfile, tag, self.build_args(),
                                     self.logs_dir / f"build-{name}-{self.variant.name}.log",
                                     network=self.variant.network, timeout_s=self.timeout_s)
                self._done[name] = BuiltImage(name, tag, spec, self.variant, result, dockerfile)
            except ImagesError as exc:
                self._done[name] = exc
        done = self._done[name]
        if isinstance(done, ImagesError):
            raise done
        return done


@pytest.fixture(scope="session")
def image_catalog() -> tuple[dict[str, Variant], dict[str, ImageSpec]]:
    """Variants and image specs of fixtures/images/variants.yaml."""
    return load_variants()


@pytest.fixture(scope="session")
def docker(docker_builder: Builder) -> str:
    """Path of the docker client (skips where there is no engine, through docker_builder)."""
    return docker_builder.docker


@pytest.fixture(scope="session")
def image_builds(docker_builder: Builder, images_dir: Path, image_variant: str, reports_dir: Path,
                 image_catalog: tuple[dict[str, Variant], dict[str, ImageSpec]],
                 pytestconfig: pytest.Config) -> ImageBuilds:
    variants, specs = image_catalog
    return ImageBuilds(docker_builder, images_dir, variants[image_variant], specs,
                       reports_dir / "images", float(pytestconfig.getoption("build_timeout")))


@pytest.fixture(scope="session")
def built_image(image_name: str, image_builds: ImageBuilds, prebuilt_image: str | None,
                docker: str) -> BuiltImage:
    """The image under test for image_name: built once per session, or the --image TAG."""
    spec = image_builds.specs[image_name]
    if prebuilt_image:
        label = subprocess.run([docker, "image", "inspect", "--format",
                                f'{{{{index .Config.Labels "{IMAGE_LABEL}"}}}}', prebuilt_image],
                               capture_output=True, text=True, timeout=60, check=False)
        if label.returncode != 0:
            pytest.fail(f"--image {prebuilt_image}: no such image ({label.stderr.strip()})", pytrace=False)
        if label.stdout.strip() != image_name:
            pytest.skip(f"--image {prebuilt_image} is a '{label.stdout.strip()}' image (label {IMAGE_LABEL}), "
                        f"not {image_name}")
        return BuiltImage(image_name, prebuilt_image, spec, image_builds.variant, None,
                          image_builds.images_dir / spec.dockerfile)
    try:
        return image_builds.get(image_name)
    except ImageBuildError as exc:
        pytest.fail(f"image {image_name} ({image_builds.variant.name}) does not build: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def image_gliner2_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GLiNER2 model built offline by the app's own builder, readable by the image's non-root user
    (a copy of its own: the session model of fixtures_gliner2 lives in a root-only directory)."""
    out = tmp_path_factory.mktemp("gliner2-model") / "gliner2"
    result = subprocess.run([sys.executable, "-m", "app.gliner2_service.tiny_model", str(out)],
                            capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, check=False)
    if result.returncode != 0:
        pytest.fail(f"building the tiny GLiNER2 model failed: {result.stderr.strip()[-800:]}", pytrace=False)
    _make_world_readable(out)
    return out


def _make_world_readable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        extra = stat.S_IROTH | stat.S_IRGRP | ((stat.S_IXOTH | stat.S_IXGRP) if path.is_dir() else 0)
        path.chmod(mode | extra)
    for parent in root.parents:
        if parent == Path(parent.anchor) or not str(parent).startswith(("/tmp", "/var/tmp")):
            break
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH | stat.S_IROTH)


@pytest.fixture
def world_writable_dir(tmp_path: Path) -> Iterator[Path]:
    """A host directory the image's non-root user may write into when bind-mounted."""
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    for parent in out.parents:
        if parent == Path(parent.anchor) or not str(parent).startswith(("/tmp", "/var/tmp")):
            break
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
    yield out
