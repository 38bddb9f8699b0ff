"""Fixtures of the image checks.

Each image is built once per session (lazily, only when a selected check needs it) from the Dockerfiles
of `--images-dir` for the session's `image_variant`, or taken as given with `--image TAG`. Checks that
take `image_name` are parametrized over the images of fixtures/images/variants.yaml, ids = image names.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Iterator

import pytest

from conformance import work_dir
from conformance.builders.gliner2_model import TinyModelError, build as build_gliner2_model
from conformance.config.images import ImageSpec, Variant, load_variants
from conformance.docker.builder import Builder, ImageBuildError
from conformance.docker.images import IMAGE_LABEL, BuiltImage, ImageBuilds
from conformance.docker.inspect import image_label


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "image_name" in metafunc.fixturenames:
        _, specs = load_variants()
        names = sorted(specs)
        metafunc.parametrize("image_name", names, ids=names, scope="session")


@pytest.fixture(scope="session")
def image_catalog() -> tuple[dict[str, Variant], dict[str, ImageSpec]]:
    """Variants and image specs of fixtures/images/variants.yaml."""
    return load_variants()


@pytest.fixture(scope="session")
def image_builds(docker_builder: Builder, images_dir: Path, image_variant: str, reports_dir: Path,
                 image_catalog: tuple[dict[str, Variant], dict[str, ImageSpec]],
                 tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> ImageBuilds:
    variants, specs = image_catalog
    return ImageBuilds(docker_builder, images_dir, variants[image_variant], specs, reports_dir / "images",
                       tmp_path_factory.mktemp("image-builds"), work_dir() / "wheelhouse",
                       float(pytestconfig.getoption("build_timeout")))


@pytest.fixture(scope="session")
def built_image(image_name: str, image_builds: ImageBuilds, prebuilt_image: str | None,
                docker_cli: str) -> BuiltImage:
    """The image under test for image_name: built once per session, or the --image TAG."""
    spec = image_builds.specs[image_name]
    if prebuilt_image:
        label = image_label(docker_cli, prebuilt_image, IMAGE_LABEL)
        if label is None:
            pytest.fail(f"--image {prebuilt_image}: no such image", pytrace=False)
        if label != image_name:
            pytest.skip(f"--image {prebuilt_image} is a '{label}' image (label {IMAGE_LABEL}), not {image_name}")
        return BuiltImage(image_name, prebuilt_image, spec, image_builds.variant, None,
                          image_builds.images_dir / spec.dockerfile)
    try:
        return image_builds.get(image_name)
    except ImageBuildError as exc:
        pytest.fail(f"image {image_name} ({image_builds.variant.name}) does not build: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def image_gliner2_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GLiNER2 model built offline by the kit's fixture builder, readable by the image's non-root user
    (a copy of its own: the session model of the service checks lives in a root-only directory)."""
    pytest.importorskip("gliner2", reason="building the tiny GLiNER2 model needs the gliner2 extra")
    out = tmp_path_factory.mktemp("gliner2-model") / "gliner2"
    try:
        build_gliner2_model(out)
    except TinyModelError as error:
        pytest.fail(f"building the tiny GLiNER2 model failed: {error}", pytrace=False)
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


@pytest.fixture(scope="session")
def fetch_script(pytestconfig: pytest.Config, images_dir: Path) -> Path:
    """The wheel download script the Dockerfiles run (`--fetch-script`, else common/fetch-wheel.sh of the tree)."""
    chosen: Path | None = pytestconfig.getoption("fetch_script")
    script = chosen or images_dir / "common" / "fetch-wheel.sh"
    if not script.is_file():
        raise pytest.UsageError(f"wheel fetch script {script}: no such file; expected common/fetch-wheel.sh in "
                                "--images-dir, or --fetch-script PATH")
    return script
