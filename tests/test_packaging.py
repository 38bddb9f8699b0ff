"""Packaging rules that cost days when broken: every torch requirement is pinned, since an
unpinned torch resolves to the newest CUDA build, GBs of wheels."""

from __future__ import annotations

import re
import tomllib

from conformance import SOURCE_ROOT


def _requirements() -> list[str]:
    project = tomllib.loads((SOURCE_ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return [*project["dependencies"], *(r for group in extras.values() for r in group)]


def test_every_torch_requirement_is_pinned_exactly() -> None:
    torch = [r for r in _requirements() if re.match(r"^torch\b", r)]
    assert torch, "the gliner2 and dev extras need torch, pinned"
    loose = [r for r in torch if not re.fullmatch(r"torch==\d+\.\d+\.\d+", r.replace(" ", ""))]
    assert not loose, (f"torch requirement(s) {loose} are not pinned with ==; expected torch==2.13.0: a range "
                       "pulls the newest CUDA build, GBs of wheels (docs/images.md)")


def test_suite_core_does_not_drag_the_application_stacks() -> None:
    core = tomllib.loads((SOURCE_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    heavy = [r for r in core if re.match(r"^(torch|transformers|gliner|opencv|fastapi)", r)]
    assert not heavy, f"core dependencies {heavy} belong in an extra: `pip install .` must stay light"
