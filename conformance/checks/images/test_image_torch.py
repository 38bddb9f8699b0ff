"""What pip left in the image: torch is exactly the pinned wheel (no resolver replaced it), `pip check` is clean
or each finding is a listed exception with its reason, and the installed distributions are exactly the
recorded set, nothing outside it (seed 000 "Jetson-Specific Wheels", "gliner / gliner2 Installation Strategy")."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from conformance.config.image_rules import DISTRIBUTIONS, normalize
from conformance.config.images import PIP_CHECK_EXCEPTIONS, load_pip_check_exceptions
from conformance.docker.images import NOT_APPLICABLE, BuiltImage, ImageBuilds
from conformance.docker.inspect import dockerfile_arg_default
from conformance.docker.containers import run_once

pytestmark = pytest.mark.docker

LIST_ALL = "import importlib.metadata as m, json; print(json.dumps([d.metadata['Name'] for d in m.distributions()]))"
TORCH_PROVENANCE = ("import importlib.metadata as m, json; d = m.distribution('torch'); "
                    "print(json.dumps({'version': d.version, 'direct_url': d.read_text('direct_url.json')}))")


def _pinned_wheel(dockerfile: Path, build_args: dict[str, str]) -> str:
    """File name of the torch wheel the build was told to install (build arg, else the Dockerfile default)."""
    url = build_args.get("TORCH_WHEEL_URL") or dockerfile_arg_default(dockerfile, "TORCH_WHEEL_URL")
    return unquote(url.rsplit("/", 1)[-1])


def test_torch_is_the_pinned_wheel(built_image: BuiltImage, image_builds: ImageBuilds) -> None:
    if not built_image.spec.has_torch:
        pytest.skip(f"{NOT_APPLICABLE}{built_image.name} carries no torch by design (has_torch: false)")
    wheel = built_image.spec.torch_wheel or _pinned_wheel(built_image.dockerfile, image_builds.build_args())
    expected_version = wheel.split("-")[1]
    result = run_once(built_image.tag, ["python3", "-c", TORCH_PROVENANCE])
    assert result.returncode == 0, f"torch metadata unreadable in {built_image.tag}: {result.stderr[-500:]}"
    found = json.loads(result.stdout.strip().splitlines()[-1])
    origin = json.loads(found["direct_url"])["url"] if found["direct_url"] else "the package index"
    assert found["version"] == expected_version and unquote(origin).endswith("/" + wheel), (
        f"torch {found['version']} from {origin} in {built_image.tag}, expected {expected_version} from the "
        f"pinned wheel {wheel}; fix: install gliner/gliner2 (and anything depending on torch) with --no-deps "
        "so no resolver replaces the pinned wheel (seed 000 'gliner / gliner2 Installation Strategy')")


def test_pip_check_clean_or_excepted(built_image: BuiltImage) -> None:
    allowed = load_pip_check_exceptions().get(built_image.name, ())
    result = run_once(built_image.tag, ["python3", "-m", "pip", "check"])
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()
             and not line.startswith("No broken requirements")]
    unexplained = [line for line in lines if not any(entry.text in line for entry in allowed)]
    assert not unexplained, (
        f"`pip check` in {built_image.tag} reports: {'; '.join(unexplained)}; expected none beyond the "
        f"exceptions of {PIP_CHECK_EXCEPTIONS.name}; fix: install the missing requirement or list it there with its reason")


def test_installed_distributions_are_exactly_the_expected_set(built_image: BuiltImage) -> None:
    expected = built_image.distributions
    if expected is None:
        pytest.skip(f"no expected distributions recorded for {built_image.name} ({built_image.variant.name}); "
                    f"record them in {DISTRIBUTIONS.name} with `python -m conformance images distributions "
                    f"{built_image.tag}` and review the list")
    result = run_once(built_image.tag, ["python3", "-c", LIST_ALL])
    assert result.returncode == 0, f"listing distributions failed in {built_image.tag}: {result.stderr[-500:]}"
    found = {normalize(name) for name in json.loads(result.stdout.strip().splitlines()[-1])}
    extra, missing = sorted(found - expected), sorted(expected - found)
    assert not extra and not missing, (
        f"{built_image.tag} carries {len(found)} distributions; beyond the expected set: {', '.join(extra) or 'none'}; "
        f"missing: {', '.join(missing) or 'none'}; expected exactly the {len(expected)} of {DISTRIBUTIONS.name} "
        f"({built_image.name}.{built_image.variant.name}); fix: a resolver pulled dependencies in: install "
        "gliner/gliner2 with --no-deps (seed 000 'gliner / gliner2 Installation Strategy'), or, for an intended "
        "change, record the new set")
