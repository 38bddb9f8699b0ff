"""The engine bootstrap refuses clearly instead of half-working: not root, no dockerd, no builder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conformance.config import ConfigError
from conformance.config.engine import load_base_specs
from conformance.docker import bootstrap, builder, engine


def test_starting_the_daemon_as_non_root_says_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "engine_problem", lambda docker=None: "no Docker engine answers")
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)
    with pytest.raises(engine.EngineError, match="starting dockerd needs root .*rerun with sudo"):
        engine.start_daemon(timeout_s=1)


def test_bootstrap_without_dockerd_and_without_install_says_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "engine_problem", lambda docker=None: "no Docker engine answers")
    monkeypatch.setattr(bootstrap.shutil, "which", lambda name: None)
    with pytest.raises(engine.EngineError, match="dockerd is not installed: rerun with --install"):
        bootstrap.engine_up(install=False)


def test_new_client_without_buildx_is_no_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder, "docker_clients", lambda: ["/usr/local/bin/docker"])
    monkeypatch.setattr(builder, "_client_major", lambda docker: 28)

    def no_buildx(argv: list[str], timeout: float = 60, env: object = None) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 1, "", "docker: 'buildx' is not a docker command.")

    monkeypatch.setattr(builder, "_run", no_buildx)
    with pytest.raises(engine.EngineError, match="no BuildKit-capable builder.*install the buildx plugin"):
        builder.detect_builder()


def test_stand_in_specs_hash_their_content() -> None:
    _, _, specs = load_base_specs()
    assert [s.tag for s in specs] == ["orin-kit/base:bookworm", "orin-kit/base:bookworm-devel"], specs
    assert specs[1].parent == specs[0].tag, "the devel base derives from the runtime base"
    assert len({s.digest for s in specs}) == 2, "each base has its own spec digest"


def test_corrupt_stand_in_spec_is_a_one_line_config_error(tmp_path: Path) -> None:
    spec = tmp_path / "bases.yaml"
    spec.write_text("suite: bookworm\nbases:\n  - tag: x\n")
    with pytest.raises(ConfigError, match=r"bases.yaml: mirror: is missing; expected a value \(and 1 more"):
        load_base_specs(spec)


def test_ensure_as_non_root_names_the_one_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "engine_problem", lambda docker=None: "no Docker engine answers at unix:///x")
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 1000)
    said: list[str] = []
    assert bootstrap.ensure_engine(say=said.append) is False
    assert len(said) == 1 and "run `sudo make engine` once" in said[0] and "no Docker engine answers" in said[0], said


def test_ensure_as_root_brings_the_engine_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "engine_problem", lambda docker=None: "no Docker engine answers")
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 0)
    calls: list[tuple[bool, bool]] = []
    monkeypatch.setattr(bootstrap, "engine_up", lambda install, bases, say: calls.append((install, bases)))
    assert bootstrap.ensure_engine(say=lambda line: None) is True and calls == [(True, True)]
