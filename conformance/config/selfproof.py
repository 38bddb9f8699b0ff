"""The self-proof table (`fixtures/selfproof/*.yaml`, one file per area): for every conformance check, a
known-bad input that must make it fail and the message it must fail with; and the broken copies of an images
tree it uses (`fixtures/images/known_bad/*.yaml`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import field_validator

from conformance import FIXTURES_DIR
from conformance.config import ConfigError, Model, load

SELFPROOF_DIR = FIXTURES_DIR / "selfproof"
BROKEN_TREES = FIXTURES_DIR / "images" / "known_bad"

Tier = Literal["docker", "gpu", "jetson"]

#: A figure kept only in part (`1.2* GB`, `81? MB`): today's measurement, which moves with the packages the index
#: serves or the machine's speed. A pattern states a figure whole where the input fixes it (a recording, a
#: budget), and leaves a measured one to `*`.
PARTIAL_FIGURE = re.compile(r"\d\?|\?\d|\d\*\s?(?:GB|MB|KB|ms|s|min|FPS|%)\b|\d\?\.")


class KnownBad(Model):
    """One known-bad input: the options that point the checks at it, and what each check must say."""

    why: str
    args: tuple[str, ...] = ()
    #: check node id (relative to conformance/checks, parameters allowed) -> fnmatch pattern of its failure
    fails: dict[str, str]
    #: tiers the run needs; where one is missing the proof is skipped, saying which
    needs: tuple[Tier, ...] = ()

    @field_validator("fails")
    @classmethod
    def _node_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for node in value:
            if "::" not in node or not node.split("::")[0].endswith(".py"):
                raise ValueError(f"expected check ids like 'area/test_x.py::test_name', found {node!r}")
        if not value:
            raise ValueError("expected at least one check that fails")
        for node, pattern in value.items():
            if found := PARTIAL_FIGURE.search(pattern):
                raise ValueError(f"{node}: the pattern keeps a figure in part ({found.group(0)!r} in {pattern!r}); "
                                 "expected a figure the known-bad input fixes, stated whole, or `*` for a "
                                 "measured one (a partial figure encodes today's measurement)")
        return value


class SelfProofTable(Model):
    known_bads: dict[str, KnownBad]


def load_selfproof_table(directory: Path = SELFPROOF_DIR) -> dict[str, KnownBad]:
    """Every known-bad of every area file; a name used twice is a ConfigError naming both files."""
    table: dict[str, KnownBad] = {}
    where: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        for name, bad in load(path, SelfProofTable).known_bads.items():
            if name in table:
                raise ConfigError(f"{path}: known_bads.{name}: is already defined in {where[name]}; expected "
                                  "unique names")
            table[name], where[name] = bad, path
    if not table:
        raise ConfigError(f"{directory}: no self-proof files (*.yaml)")
    return table


class Edit(Model):
    find: str
    replace: str


class BrokenTree(Model):
    """A copy of the images tree with one rule broken: find/replace edits per file (relative to the tree)."""

    why: str
    files: dict[str, tuple[Edit, ...]]


class BrokenTrees(Model):
    trees: dict[str, BrokenTree]


def load_broken_trees(directory: Path = BROKEN_TREES) -> dict[str, BrokenTree]:
    """Every broken tree of every file in the directory; a name used twice is a ConfigError."""
    trees: dict[str, BrokenTree] = {}
    for path in sorted(directory.glob("*.yaml")):
        for name, tree in load(path, BrokenTrees).trees.items():
            if name in trees:
                raise ConfigError(f"{path}: trees.{name}: is defined twice; expected unique names")
            trees[name] = tree
    return trees
