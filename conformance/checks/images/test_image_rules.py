"""The rules of the seeds checked where they are written: each image's Dockerfile (and the requirement files
it installs) in the tree under test, `--images-dir` included. No engine needed; the image checks then prove
the outcome in the built image (seed 000 "--no-deps", "BuildKit Wheel Cache"; seed 001 "Aggressive cleanup";
seed 004 "Platform Mismatch"; issue 10 "Nothing leaks into an image")."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.config.image_rules import load_image_rules, normalize
from conformance.config.images import ImageSpec
from conformance.docker.dockerfile import (DockerfileError, Instruction, PipInstall, from_lines, pip_installs,
                                           read_instructions, requirement_names, settings)
from conformance.docker.images import NOT_APPLICABLE
from conformance.docker.prebuilt import Prebuilt
from conformance.docker.secrets import FIX, setting_findings


@pytest.fixture
def spec(image_name: str, image_catalog: tuple, given_image: Prebuilt | None) -> ImageSpec:
    if given_image is not None:
        pytest.skip(f"{NOT_APPLICABLE}--image {given_image.tag} given: its Dockerfile is not part of the run; "
                    "the image checks hold the outcome")
    return image_catalog[1][image_name]


@pytest.fixture
def dockerfile(spec: ImageSpec, images_dir: Path) -> Path:
    return images_dir / spec.dockerfile


@pytest.fixture
def instrs(dockerfile: Path) -> list[Instruction]:
    try:
        return read_instructions(dockerfile)
    except DockerfileError as error:
        pytest.fail(str(error), pytrace=False)


def _installed_by(install: PipInstall, dockerfile: Path, images_dir: Path) -> list[str]:
    """What one pip install installs: its packages and those of its requirement files (found in the tree)."""
    names = list(install.packages)
    for written in install.requirement_files:
        base = Path(written).name
        candidates = [dockerfile.parent / base, *sorted(images_dir.rglob(base))]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            pytest.fail(f"{dockerfile}:{install.line} installs `-r {written}`, which is nowhere in {images_dir}; "
                        "expected the requirement file beside the Dockerfile", pytrace=False)
        try:
            names += requirement_names(found)
        except DockerfileError as error:
            pytest.fail(str(error), pytrace=False)
    return names


def test_no_deps_packages_are_installed_only_with_no_deps(spec: ImageSpec, dockerfile: Path, image_catalog: tuple,
                                                          instrs: list[Instruction], images_dir: Path) -> None:
    # The rule is about those distributions wherever they are installed: any image of the catalogue names them.
    watched = {normalize(name) for other in image_catalog[1].values() for name in other.no_deps_packages}
    broken = []
    for install in (found for ins in instrs for found in pip_installs(ins)):
        hits = sorted(watched & {normalize(n) for n in _installed_by(install, dockerfile, images_dir)})
        if hits and not install.no_deps:
            broken.append(f"line {install.line} `{install.command[:90]}` installs {', '.join(hits)}")
    assert not broken, (
        f"{dockerfile}: {'; '.join(broken)} without --no-deps; expected {', '.join(sorted(watched))} installed "
        "only with `pip install --no-deps` (their dependencies let the resolver replace the pinned torch wheel: "
        "a CPU torch on a Jetson); fix: `pip install --no-deps -r requirements-nodeps.txt` (seed 000 'gliner / "
        "gliner2 Installation Strategy')")


def test_heavy_step_downloads_into_a_cache_mount(spec: ImageSpec, dockerfile: Path,
                                                 instrs: list[Instruction]) -> None:
    marker = spec.heavy_step_marker
    if not marker:
        pytest.skip(f"{NOT_APPLICABLE}{spec.name} has no heavy download step (heavy_step_marker: null)")
    steps = [ins for ins in instrs if ins.keyword == "RUN" and marker in ins.text]
    assert steps, (f"{dockerfile}: no RUN step contains '{marker}', expected the wheel download step that "
                   "variants.yaml names (heavy_step_marker); fix the Dockerfile or the marker")
    uncached = [ins for ins in steps if not any(flag.startswith("--mount=type=cache") for flag in ins.flags())]
    assert not uncached, (
        f"{dockerfile}: line {uncached[0].line} downloads the wheel with no BuildKit cache mount, expected "
        "`RUN --mount=type=cache,target=/var/cache/jetson-wheels ...` so a rebuild never downloads it again and "
        "the wheel never lands in a layer (seed 000 'BuildKit Wheel Cache + Retry')")


def test_dockerfile_sets_no_credential(spec: ImageSpec, dockerfile: Path, instrs: list[Instruction]) -> None:
    found = setting_findings(settings(instrs), load_image_rules().secrets, str(dockerfile))
    assert not found, (f"{'; '.join(found)}: a credential in an ARG default, ENV or LABEL ends up in the image "
                       f"history or config, expected none; fix: {FIX} (issue 10 'Nothing leaks into an image')")


def test_no_stage_is_pinned_to_one_platform(spec: ImageSpec, dockerfile: Path, instrs: list[Instruction]) -> None:
    allowed = load_image_rules().allowed_from_platforms
    pinned = [f"line {stage.line} `FROM --platform={stage.platform} {stage.image}`" for stage in from_lines(instrs)
              if stage.platform is not None and stage.platform not in allowed]
    assert not pinned, (
        f"{dockerfile}: {'; '.join(pinned)}, expected no FROM pinned to one platform (amd64 and arm64 both build "
        "the generic variant, an Orin the jetson one); fix: drop --platform or use $BUILDPLATFORM/$TARGETPLATFORM "
        "(seed 004 'Platform Mismatch')")


def _truthy(value: str) -> bool:
    return value.strip().strip('"').lower() in ("1", "true", "yes", "on")


def test_package_installs_leave_no_cache(spec: ImageSpec, dockerfile: Path, instrs: list[Instruction]) -> None:
    kept = []
    no_cache_env = False
    for ins in instrs:
        if ins.keyword == "FROM":
            no_cache_env = False  # ENV does not cross stages (a stage FROM another one is rare here)
        elif ins.keyword == "ENV":
            no_cache_env = any(_truthy(s.value) for s in settings([ins]) if s.name == "PIP_NO_CACHE_DIR") or (
                no_cache_env and not any(s.name == "PIP_NO_CACHE_DIR" for s in settings([ins])))
        for install in pip_installs(ins):
            inline = any(word.startswith("PIP_NO_CACHE_DIR=") and _truthy(word.split("=", 1)[1])
                         for word in install.command.split())
            if not (no_cache_env or inline or "--no-cache-dir" in install.command.split()):
                kept.append(f"line {install.line} `{install.command[:80]}` keeps pip's cache")
        if ins.keyword == "RUN" and "apt-get install" in ins.body() and "/var/lib/apt/lists" not in ins.body():
            kept.append(f"line {ins.line} `apt-get install` leaves /var/lib/apt/lists")
    assert not kept, (
        f"{dockerfile}: {'; '.join(kept)}, expected every install to leave no cache in its layer; fix: "
        "`ENV PIP_NO_CACHE_DIR=1` (or `pip install --no-cache-dir`), `&& rm -rf /var/lib/apt/lists/*` in the "
        "same RUN as apt-get (seed 001 'Aggressive cleanup')")
