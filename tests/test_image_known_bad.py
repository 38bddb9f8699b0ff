"""Self-proof of the image checks: each known-bad variant of fixtures/images/known_bad.yaml fails exactly its
check, with its message, when the check module runs on it through run_checks (docker tier)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import CHECKS_DIR
from conformance.images import IMAGES_DIR, ImagesError, apply_edits, load_known_bad, make_known_bad_images_dir

KNOWN_BAD = load_known_bad()


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(KNOWN_BAD), ids=sorted(KNOWN_BAD))
def test_known_bad_variant_fails_exactly_its_check(name: str, run_checks, tmp_path: Path) -> None:
    bad = KNOWN_BAD[name]
    images_dir = make_known_bad_images_dir(bad, tmp_path / "images")
    result = run_checks(str(CHECKS_DIR / bad.check), f"--images-dir={images_dir}", "-k", bad.image)
    result.assert_outcomes(**bad.outcomes)
    result.stdout.fnmatch_lines([bad.expect])


def test_every_known_bad_edit_applies_to_the_real_dockerfile(tmp_path: Path) -> None:
    for bad in KNOWN_BAD.values():
        made = make_known_bad_images_dir(bad, tmp_path / bad.name)
        real = (IMAGES_DIR / bad.image / "Dockerfile").read_text()
        assert (made / bad.image / "Dockerfile").read_text() != real, f"{bad.name}: edits changed nothing"


def test_edit_whose_text_is_missing_raises_naming_the_variant() -> None:
    with pytest.raises(ImagesError, match="known-bad x: edit expects its find text exactly once.*found 0"):
        apply_edits("FROM a\n", [("RUN missing\n", "")], "known-bad x")
