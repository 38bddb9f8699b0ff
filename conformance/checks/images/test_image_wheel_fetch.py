"""The images' wheel download step (images/common/fetch-wheel.sh, the script the Dockerfiles run) recovers
from three HTTP 503s in a row and from a truncated cached wheel (seed 000 "BuildKit Wheel Cache + Retry").
A local flaky server on 127.0.0.1 stands in for the wheel index: no network."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from conformance.util.flaky_server import FlakyWheelServer
from conformance.util.files import sha256_of


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    """A small valid wheel (zip) to serve."""
    path = tmp_path / "served" / "orin_kit_probe-1.0-py3-none-any.whl"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("orin_kit_probe/__init__.py", "VALUE = 1\n" * 2000)
        archive.writestr("orin_kit_probe-1.0.dist-info/METADATA", "Name: orin-kit-probe\nVersion: 1.0\n")
    return path


def _fetch(script: Path, url: str, cache: Path, sha: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(script), url, str(cache), sha], capture_output=True, text=True,
                          timeout=120, check=False)


def test_wheel_fetch_recovers_from_three_503s(fetch_script: Path, wheel: Path, tmp_path: Path) -> None:
    script = fetch_script
    with FlakyWheelServer(wheel, failures=3) as server:
        result = _fetch(script, server.url, tmp_path / "cache", sha256_of(wheel))
        asked = server.requests
    fetched = tmp_path / "cache" / wheel.name
    assert result.returncode == 0 and fetched.is_file() and sha256_of(fetched) == sha256_of(wheel), (
        f"{script.name} exited {result.returncode} after {asked} requests to a server answering 503 three "
        f"times, expected the wheel after retrying; stderr: {result.stderr.strip()[-300:]}; fix: curl "
        "--retry N (N >= 3) --retry-delay (seed 000 'BuildKit Wheel Cache + Retry')")
    assert asked == 4, f"{asked} requests made, expected 3 failed + 1 good (retry count or dedup is off)"


def test_wheel_fetch_replaces_truncated_cached_wheel(fetch_script: Path, wheel: Path, tmp_path: Path) -> None:
    script = fetch_script
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = cache / wheel.name
    cached.write_bytes(wheel.read_bytes()[: wheel.stat().st_size // 2])  # an interrupted earlier download
    with FlakyWheelServer(wheel, failures=0) as server:
        result = _fetch(script, server.url, cache, "")
        asked = server.requests
    assert result.returncode == 0 and sha256_of(cached) == sha256_of(wheel) and asked == 1, (
        f"{script.name} exited {result.returncode}, made {asked} requests and left a cached wheel of "
        f"{cached.stat().st_size} bytes (good: {wheel.stat().st_size}); expected the truncated cached wheel "
        "deleted and downloaded again; fix: test the cached file (zip CRC / sha256) before use "
        "(seed 000 'If cached wheel is corrupt, auto-delete and re-download')")
