"""Fixtures of the image checks, and the certification rule of a run given `--image`.

Each image is built once per session (lazily, only when a selected check needs it) from the Dockerfiles
of `--images-dir` for the session's `image_variant` (the `image_builds` fixture of the plugin), or taken as
given with `--image TAG`. Checks that take `image_name` are parametrized over the images of
fixtures/images/variants.yaml, ids = image names; with `--image` over that one image, as it was described.

A certification run (`--image`) never ends green when a check that applies to the image skipped: a skip
whose reason does not start with "not applicable: " fails the session, naming each gap.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Iterator

import pytest

from conformance.config.image_rules import load_distributions
from conformance.config.images import ImageSpec, Variant, load_variants
from conformance.docker.builder import ImageBuildError
from conformance.docker.images import NOT_APPLICABLE, BuiltImage, ImageBuilds
from conformance.docker.prebuilt import Prebuilt
from conformance.plugin import PREBUILT

#: Checks under these folders make up an image's certification.
CERTIFIED_AREAS = ("checks/images/", "checks/engine/")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "image_name" in metafunc.fixturenames:
        given: Prebuilt | None = metafunc.config.stash.get(PREBUILT, None)
        names = [given.spec.name] if given else sorted(load_variants()[1])
        metafunc.parametrize("image_name", names, ids=names, scope="session")


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("orin-kit-certification"):
        config.pluginmanager.register(Certification(config), "orin-kit-certification")


class Certification:
    """With --image: every image or engine check that skipped for a reason other than "not applicable" is a
    gap, and a run with a gap fails (a certification run may not skip a check that applies)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.gaps: list[str] = []

    @property
    def given(self) -> Prebuilt | None:
        # read when used: the plugin settles --image in its own pytest_configure, which may run after this one
        return self.config.stash.get(PREBUILT, None)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.given is None or not report.skipped or hasattr(report, "wasxfail") or \
                not any(area in report.nodeid for area in CERTIFIED_AREAS):
            return
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if not reason.startswith(NOT_APPLICABLE):
            self.gaps.append(f"{report.nodeid.rsplit('/', 1)[-1]}: {reason}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.given is not None and self.gaps and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.given is None:
            return
        terminalreporter.section("image certification")
        given = f"{self.given.tag} ({self.given.spec.name}, from {self.given.source})"
        if not self.gaps:
            terminalreporter.write_line(f"{given}: every image check that applies to it ran")
            return
        terminalreporter.write_line(f"NOT CERTIFIED: {len(self.gaps)} check(s) that apply to {given} did not "
                                    "run; a certification run may not skip a check that applies:", red=True)
        for gap in self.gaps:
            terminalreporter.write_line(f"  {gap}")


@pytest.fixture(scope="session")
def image_catalog() -> tuple[dict[str, Variant], dict[str, ImageSpec]]:
    """Variants and image specs of fixtures/images/variants.yaml."""
    return load_variants()


@pytest.fixture(scope="session")
def given_image(pytestconfig: pytest.Config) -> Prebuilt | None:
    """The image given with --image, as described (label, --image-kind or --image-spec), or None."""
    return pytestconfig.stash.get(PREBUILT, None)


@pytest.fixture(scope="session")
def built_image(image_name: str, image_builds: ImageBuilds, given_image: Prebuilt | None) -> BuiltImage:
    """The image under test for image_name: built once per session, or the --image TAG."""
    if given_image is not None:
        spec = given_image.spec
        return BuiltImage(image_name, given_image.tag, spec, image_builds.variant, None,
                          image_builds.images_dir / spec.dockerfile, given_image.distributions)
    try:
        built = image_builds.get(image_name)
    except ImageBuildError as exc:
        pytest.fail(f"image {image_name} ({image_builds.variant.name}) does not build: {exc}", pytrace=False)
    expected = load_distributions().get(image_name, {}).get(image_builds.variant.name)
    return BuiltImage(built.name, built.tag, built.spec, built.variant, built.build, built.dockerfile, expected)


@pytest.fixture(scope="session")
def image_gliner2_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline tiny GLiNER2 model (built once by the kit's fixture builder, then reused), copied where
    the image's non-root user can read it when bind-mounted."""
    from conformance.builders.gliner2_model import TinyModelError, ensure, is_built
    from conformance.service.local import default_model

    source = default_model()
    if not is_built(source):
        pytest.importorskip("gliner2", reason="building the tiny GLiNER2 model needs the gliner2 extra")
        try:
            ensure(source)
        except TinyModelError as error:
            pytest.fail(f"building the tiny GLiNER2 model failed: {error}", pytrace=False)
    out = tmp_path_factory.mktemp("gliner2-model") / "gliner2"
    shutil.copytree(source, out)
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
def fetch_script(pytestconfig: pytest.Config, images_dir: Path, given_image: Prebuilt | None) -> Path:
    """The wheel download script the Dockerfiles run (`--fetch-script`, else common/fetch-wheel.sh of the tree)."""
    from conformance.docker.context import ContextError, helpers_dir

    chosen: Path | None = pytestconfig.getoption("fetch_script")
    if given_image is not None and chosen is None:
        pytest.skip(f"{NOT_APPLICABLE}--image {given_image.tag} given: the tree's download script is not part of "
                    "the run (pass --fetch-script to check one)")
    try:
        script = chosen or helpers_dir(images_dir) / "fetch-wheel.sh"
    except ContextError as error:
        raise pytest.UsageError(str(error)) from None
    if not script.is_file():
        raise pytest.UsageError(f"wheel fetch script {script}: no such file; expected common/fetch-wheel.sh in "
                                "--images-dir, or --fetch-script PATH")
    return script
