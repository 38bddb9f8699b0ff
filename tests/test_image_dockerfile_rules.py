"""The Dockerfile reader and the rules checked where they are written, on small recorded texts: pip installs
and their --no-deps, requirement files, ARG/ENV/LABEL settings, FROM platforms; and the rebuild-cost ratio
of the warm-rebuild benchmark on recorded BuildKit logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.docker.builder import BuildResult, parse_buildkit_plain, rebuild_cost
from conformance.docker.dockerfile import (from_lines, instructions, pip_installs, requirement_names,
                                           settings)

DOCKERFILE = """\
ARG BASE_IMAGE=debian:12
FROM --platform=linux/amd64 ${BASE_IMAGE} AS builder
# a comment
RUN --mount=type=cache,target=/var/cache/w \\
    # a comment inside the continuation
    PIP_FIND_LINKS=/w python3 -m pip install --no-deps -r requirements-nodeps.txt \\
    && pip3 install "numpy>=1.24,<2" torch==2.5 "$wheel" \\
    && echo done
ENV A=1 \\
    HF_TOKEN=hf_abc
LABEL org.example.x="y z"
FROM debian:12
"""


def test_instructions_join_continuations_and_keep_first_lines() -> None:
    found = [(ins.line, ins.keyword) for ins in instructions(DOCKERFILE)]
    assert found == [(1, "ARG"), (2, "FROM"), (4, "RUN"), (9, "ENV"), (11, "LABEL"), (12, "FROM")], found
    run = instructions(DOCKERFILE)[2]
    assert run.flags() == ["--mount=type=cache,target=/var/cache/w"], run.flags()
    assert run.body().startswith("PIP_FIND_LINKS=/w python3 -m pip install"), run.body()


def test_pip_installs_name_packages_files_and_no_deps() -> None:
    installs = pip_installs(instructions(DOCKERFILE)[2])
    assert [(i.no_deps, i.packages, i.requirement_files) for i in installs] == [
        (True, (), ("requirements-nodeps.txt",)),
        (False, ("numpy", "torch"), ()),  # "$wheel" is a variable: no name
    ], installs


def test_requirement_names_follow_nested_files_and_skip_constraints(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("gliner==0.2.29  # pinned\n")
    (tmp_path / "req.txt").write_text("-c constraints.txt\n-r base.txt\n# comment\nfastapi>=0.110\n--no-binary x\n")
    assert requirement_names(tmp_path / "req.txt") == ["gliner", "fastapi"]


def test_settings_and_platforms_as_written() -> None:
    instrs = instructions(DOCKERFILE)
    values = {(s.keyword, s.name): s.value for s in settings(instrs)}
    assert values[("ARG", "BASE_IMAGE")] == "debian:12" and values[("ENV", "HF_TOKEN")] == "hf_abc", values
    assert values[("LABEL", "org.example.x")] == "y z", values
    assert [(f.platform, f.stage) for f in from_lines(instrs)] == [("linux/amd64", "builder"), (None, None)]


def _build(log: str) -> BuildResult:
    return BuildResult("t", 1.0, tuple(parse_buildkit_plain(log)), Path("log"))


COLD = """\
#5 [internal] load build context
#5 DONE 4.0s
#6 [stage-0 2/5] RUN install torch
#6 DONE 20.0s
#7 [stage-0 3/5] COPY requirements.txt /app/
#7 DONE 0.1s
#8 [stage-0 4/5] RUN pip install -r requirements.txt
#8 DONE 1.9s
#9 exporting to image
#9 DONE 4.0s
"""
WARM = """\
#5 [internal] load build context
#5 DONE 0.3s
#6 [stage-0 2/5] RUN install torch
#6 CACHED
#7 [stage-0 3/5] COPY requirements.txt /app/
#7 DONE 0.2s
#8 [stage-0 4/5] RUN pip install -r requirements.txt
#8 DONE 3.0s
#9 exporting to image
#9 DONE 0.2s
"""


def test_rebuild_cost_is_the_cold_builds_share_of_the_rerun_steps() -> None:
    share, rerun = rebuild_cost(_build(COLD), _build(WARM))
    # cold costs of COPY + pip (not the warm timings), plus the warm build's own export, over all cold steps
    assert share == pytest.approx((2.0 + 0.2) / 26.0), share
    assert [step.instruction for step, _ in rerun] == ["RUN pip install -r requirements.txt", "exporting to image",
                                                       "COPY requirements.txt /app/"], rerun


def test_rebuild_cost_names_the_torch_step_when_it_reran() -> None:
    warm = WARM.replace("#6 CACHED", "#6 DONE 25.0s")
    share, rerun = rebuild_cost(_build(COLD), _build(warm))
    assert share == pytest.approx(22.2 / 26.0) and rerun[0][0].instruction == "RUN install torch", (share, rerun)
