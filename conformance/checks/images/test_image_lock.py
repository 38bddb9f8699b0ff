"""The image is built from locked wheels: every lock of its tree is current against the requirements it was made
from, and the image's label records the digest of exactly those locks. Without it the same tree builds other
packages on another day, and a release cannot say what it shipped (a size or an ABI moves with the index)."""

from __future__ import annotations

import pytest

from conformance.docker.images import LOCK_LABEL, NOT_APPLICABLE, BuiltImage, ImageBuilds
from conformance.docker.inspect import image_label
from conformance.locks import image_locks, locks_digest, stale_locks

pytestmark = pytest.mark.docker


def test_image_is_built_from_its_current_locks(built_image: BuiltImage, image_builds: ImageBuilds) -> None:
    if not image_builds.hermetic:
        pytest.skip(f"{NOT_APPLICABLE}the {built_image.variant.name} variant installs from its package index, "
                    "not from the locked wheelhouse of the generic builds")
    locks = list(image_locks(image_builds.images_dir).values())
    stale = stale_locks(locks)
    assert not stale, (
        f"{image_builds.images_dir} has {len(stale)} stale lock(s): {stale[0]}; expected every wheelhouse lock "
        "made from the requirements as they stand, so that a build installs the same files every day")
    found = image_label(image_builds.builder.docker, built_image.tag, LOCK_LABEL)
    expected = f"sha256:{locks_digest(locks)}"
    assert found == expected, (
        f"{built_image.tag} records lock {found or '(no label)'}, expected {expected} (the locks of "
        f"{image_builds.images_dir}); fix: rebuild the image from its tree (`images/build.sh`)")
