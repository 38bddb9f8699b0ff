"""The soak's memory sampler (conformance/device/live.py `app_rss_mb`) on `/proc/[0-9]*/status` text recorded in
the yolo-tiled image: tini as init, the app (a python3 holding numpy arrays) and the sampler's own `sh`. It must
count the app alone, and report nothing once the app is gone, whatever the timing of the sample."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.device.live import app_rss_mb

RECORDED = Path(__file__).parents[1] / "fixtures" / "devices" / "yolo-tiled-proc-status.txt"


def _field(block: str, pattern: str) -> str:
    found = re.search(pattern, block, re.M)
    assert found, f"{pattern!r} not in the recorded status block:\n{block}"
    return found.group(1)


def _blocks(text: str) -> dict[str, str]:
    return {_field(block, r"^Name:\s*(\S+)"): block for block in re.split(r"(?m)^(?=Name:)", text) if block.strip()}


def _kb(block: str) -> int:
    return int(_field(block, r"^VmRSS:\s*(\d+) kB"))


@pytest.fixture(scope="module")
def running() -> str:
    return RECORDED.read_text()


@pytest.fixture(scope="module")
def exiting(running: str) -> str:
    """The same processes with the app's memory released: the kernel drops the Vm*/Rss* lines of a task with no
    memory map left (an exiting or zombie app), while tini and the sampler still run."""
    app = _blocks(running)["python3"]
    return running.replace(app, "".join(line for line in app.splitlines(keepends=True)
                                        if not line.startswith(("Vm", "Rss"))))


def test_the_recording_holds_the_init_the_app_and_the_sampler(running: str) -> None:
    assert set(_blocks(running)) == {"tini", "python3", "sh"}


def test_a_running_app_counts_its_own_memory_only(running: str) -> None:
    blocks, app_mb = _blocks(running), app_rss_mb(running)
    assert app_mb == pytest.approx(_kb(blocks["python3"]) / 1024)
    assert app_mb is not None and app_mb < sum(_kb(b) for b in blocks.values()) / 1024


@pytest.mark.parametrize("init", ["docker-init", "dumb-init"])
def test_another_init_is_not_counted_either(running: str, init: str) -> None:
    other = running.replace("Name:\ttini\n", f"Name:\t{init}\n")
    assert other != running, "the recording's init line is not 'Name:<TAB>tini'"
    assert app_rss_mb(other) == app_rss_mb(running)


def test_an_exiting_app_gives_no_sample(exiting: str) -> None:
    # Known-bad: summing every process, as the sampler did before 2026-11-29, reads this as a 3 MB app.
    every_process_mb = sum(_kb(b) for b in _blocks(exiting).values() if "VmRSS" in b) / 1024
    assert 2 < every_process_mb < 4
    assert app_rss_mb(exiting) is None


def test_an_empty_read_gives_no_sample() -> None:
    assert app_rss_mb("") is None
