"""Proving that every check can fail: materialise each known-bad input of the self-proof table.

A known-bad's `args` may hold placeholders, resolved here for the duration of one proof run:

- `{fixtures}`: the fixtures directory; `{build}`: the kit's work directory (generated assets);
- `{tree:NAME}`: a copy of the images tree with the broken rule NAME of `fixtures/images/known_bad/`;
- `{nms:FILE}`: a build of libnms_merger in `nms_cpp/build/` (`make -C nms_cpp` makes the known-bad ones);
- `{make:NAME}`: a named maker of `conformance.selfproof.makers` (a generated model, a running service ...).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from conformance import FIXTURES_DIR, IMAGES_DIR, work_dir
from conformance.config.selfproof import KnownBad, load_broken_trees
from conformance.docker.context import edited_tree

PLACEHOLDER = re.compile(r"\{(?P<kind>[a-z]+)(?::(?P<arg>[^}]+))?\}")


class ProofInputError(RuntimeError):
    """A placeholder names nothing the kit knows how to make."""


def broken_tree(name: str, dest: Path, images_dir: Path = IMAGES_DIR) -> Path:
    """A copy of images_dir at dest with the broken rule `name` applied."""
    trees = load_broken_trees()
    if name not in trees:
        raise ProofInputError(f"{{tree:{name}}}: no such broken tree; expected one of {', '.join(sorted(trees))}")
    edits = {rel: [(e.find, e.replace) for e in file_edits] for rel, file_edits in trees[name].files.items()}
    return edited_tree(images_dir, dest, edits, f"broken tree {name}")


@contextmanager
def resolved(args: Sequence[str], scratch: Path) -> Iterator[list[str]]:
    """args with every placeholder replaced; makers that run something are stopped on exit."""
    from conformance.selfproof import makers

    with ExitStack() as stack:
        def value(match: re.Match[str]) -> str:
            kind, arg = match["kind"], match["arg"]
            if kind == "fixtures":
                return str(FIXTURES_DIR)
            if kind == "build":
                return str(work_dir())
            if kind == "tree" and arg:
                return str(broken_tree(arg, scratch / f"tree-{arg}"))
            if kind == "nms" and arg:
                return str(makers.nms_build(arg))
            if kind == "make" and arg:
                return str(stack.enter_context(makers.make(arg, scratch / f"make-{arg}")))
            raise ProofInputError(f"unknown placeholder {match[0]!r}; expected {{fixtures}}, {{build}}, "
                                  "{tree:NAME}, {nms:FILE} or {make:NAME}")

        yield [PLACEHOLDER.sub(value, arg) for arg in args]


def proof_failures(name: str, bad: KnownBad, results: Sequence[Mapping[str, str]]) -> list[str]:
    """Why a run (its summary's `results`) does not prove known-bad `name`: each check it names must have run and
    FAILED with its pattern. Empty when it proves it."""
    outcomes = {str(r["nodeid"]).split("conformance/checks/", 1)[-1]: r for r in results}
    problems = []
    for check, pattern in bad.fails.items():
        found = [r for node, r in outcomes.items() if node == check or node.startswith(check + "[")]
        if not found:
            problems.append(f"known-bad {name}: {check} did not run (collected: {sorted(outcomes)}); expected it to "
                            "fail; fix the check id in fixtures/selfproof/")
        for record in found:
            if record["outcome"] != "failed":
                problems.append(f"known-bad {name} ({bad.why}): {record['nodeid']} {record['outcome']} "
                                f"({record['detail'][:300]}), expected it to FAIL with {pattern!r}: a check that "
                                "cannot fail is a defect")
            elif not fnmatch.fnmatchcase(record["message"], pattern):
                problems.append(f"known-bad {name}: {record['nodeid']} failed with {record['message'][:600]!r}, "
                                f"expected the message to match {pattern!r}")
    return problems
