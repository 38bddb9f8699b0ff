"""The broken trees of fixtures/images/known_bad/ stay broken: each edit applies to the real tree exactly
once and changes it (so a change to the real files cannot silently turn a known-bad good)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import IMAGES_DIR
from conformance.config.selfproof import load_broken_trees
from conformance.docker.context import ContextError, apply_edits
from conformance.selfproof import broken_tree

TREES = load_broken_trees()


@pytest.mark.parametrize("name", sorted(TREES), ids=sorted(TREES))
def test_broken_tree_differs_from_the_real_tree_where_its_rule_is(name: str, tmp_path: Path) -> None:
    made = broken_tree(name, tmp_path / name)
    for rel in TREES[name].files:
        assert (made / rel).read_text() != (IMAGES_DIR / rel).read_text(), f"{name}: edits changed nothing in {rel}"


def test_edit_whose_text_is_missing_raises_naming_the_tree() -> None:
    with pytest.raises(ContextError, match="broken tree x: edit expects its find text exactly once, found it 0"):
        apply_edits("FROM a\n", [("RUN missing\n", "")], "broken tree x")
