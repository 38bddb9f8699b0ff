"""The README gives basic usage, and its commands are real (seed 001 P0 'Documentation includes basic usage
instructions'): every topic of fixtures/docs/usage.yaml has a command in a code block, and every `make TARGET`
and repository script a code block names exists in the tree the README documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.config.docs import load_usage

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_TARGET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)", re.MULTILINE)


@pytest.fixture(scope="module")
def readme(pytestconfig: pytest.Config) -> Path:
    path: Path = pytestconfig.getoption("readme")
    if not path.is_file():
        pytest.fail(f"--readme {path}: no such file; expected the README of the tree under test", pytrace=False)
    return path


def _code_lines(text: str) -> list[str]:
    return [line.strip() for block in _FENCE.findall(text) for line in block.splitlines() if line.strip()]


def _make_targets(root: Path) -> set[str]:
    files = [root / "Makefile", *sorted((root / "mk").glob("*.mk"))]
    return {t for f in files if f.is_file() for t in _TARGET.findall(f.read_text(errors="replace"))}


def test_readme_gives_working_usage_commands(readme: Path) -> None:
    lines = _code_lines(readme.read_text(errors="replace"))
    topics = load_usage().topics
    missing = [topic for topic, commands in topics.items() if not any(line.startswith(commands) for line in lines)]
    root = readme.parent
    targets = _make_targets(root)
    dead = sorted({f"make {m}" for line in lines for m in re.findall(r"^make ([A-Za-z0-9_.-]+)", line)
                   if m not in targets})
    dead += sorted({p for line in lines for p in re.findall(r"(?:^|\s)((?:images|app|nms_cpp)/[\w./-]+\.(?:sh|py|yaml))",
                                                            line) if not (root / p).exists()})
    assert not missing and not dead, (
        f"{readme}: usage shows no command for {missing} and names commands that do not exist: {dead}; expected "
        "a code block with a command for every topic of fixtures/docs/usage.yaml, each naming a real make target "
        "or file; fix: add the usage (quick start, build, run, compose, device run) to the README (seed 001 P0 "
        "'Documentation includes basic usage instructions')")
