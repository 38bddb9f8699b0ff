"""Fixtures of the project's own tests."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import CHECKS_DIR, FIXTURES_DIR, SOURCE_ROOT

RunChecks = Callable[..., pytest.RunResult]

# pytester restores sys.modules after every test that uses it. httpx imports httpcore lazily and caches its
# exception classes on first use, so an httpcore first imported inside such a test is dropped afterwards
# and re-imported fresh: its ConnectError then escapes httpx unmapped. Importing it up front keeps one copy.
try:
    import httpcore  # noqa: F401
    import httpx  # noqa: F401
except ImportError:  # the suite core runs without the service stack
    pass


#: The third-party pytest plugins the checks use. Subprocesses load these and no others: autoloading every
#: installed plugin (schemathesis, anyio, ...) costs about a second per run, and the self-proofs start ~150.
CHECK_PLUGINS = ("pytest_benchmark.plugin", "_hypothesis_pytestplugin")


@pytest.fixture
def run_checks(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunChecks:
    """Run conformance checks in a fresh pytest subprocess: `run_checks(str(CHECKS / "test_x.py"), "--opt=..")`.

    The subprocess loads the suite's plugin, writes its reports under tmp_path, and is the self-proof that a
    check fails (or passes) on a given fixture with the expected message.
    """
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # Bytecode may be cached: without it every subprocess recompiles and re-rewrites its modules.
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    plugins = [arg for name in CHECK_PLUGINS for arg in ("-p", name)]

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            "-p", "conformance.plugin", *plugins, "--rootdir", str(SOURCE_ROOT),
            "-c", str(SOURCE_ROOT / "pyproject.toml"), f"--reports-dir={tmp_path / 'reports'}",
            "-p", "no:cacheprovider", *args)

    return run


@pytest.fixture(scope="session")
def checks_dir() -> Path:
    return CHECKS_DIR


@pytest.fixture(scope="session")
def devices_dir() -> Path:
    return FIXTURES_DIR / "devices"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many checks are proved able to fail (fixtures/selfproof/)."""
    module = sys.modules.get("tests.test_selfproof") or sys.modules.get("test_selfproof")
    count = getattr(module, "SELFPROOF_COUNT", None)
    if count:
        terminalreporter.write_line(f"self-proof: {count['proved']} of {count['checks']} conformance checks "
                                    "have a known-bad that makes them fail (fixtures/selfproof/)")
