"""The HTML reports opened in a real browser (Debian's chromium, driven by Playwright): the verdict is the first
thing on the page, every chart image loads, every evidence link resolves, and the console stays clean."""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from conformance import FIXTURES_DIR
from conformance.cli import main

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
REPORTS = FIXTURES_DIR / "reports"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no browser: {CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium), "
                    "as .ci/run does")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright: "
                                   "pip install -e '.[dev]' (never `playwright install`: the distribution's chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _kit(*args: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(args))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Each report page, built from the recorded sets, with the verdict it must open with."""
    root = tmp_path_factory.mktemp("pages")
    store = shutil.copytree(REPORTS / "bench" / "runs", root / "benchmarks" / "runs")
    _kit("bench", "--store", str(store), "compare", "0003", "--baseline", "0001", "--confirm", "0005",
         "--out", str(root / "benchmarks" / "compare"))
    signed = shutil.copytree(REPORTS / "signoff" / "orin-nx-16gb-all-pass", root / "signed")
    shutil.copytree(root / "benchmarks", signed / "benchmarks")  # the sign-off links the comparison
    _kit("signoff", str(signed))
    failing = shutil.copytree(REPORTS / "signoff" / "orin-nx-16gb-failing-p0", root / "fleet-in" / "nx16-lab-02")
    _kit("signoff", str(failing))
    _kit("fleet", "merge", str(failing), str(signed), "--out", str(root / "fleet"))
    return {"comparison": (root / "benchmarks" / "compare" / "compare.html", "REGRESSION"),
            "signed": (signed / "acceptance.html", "SIGNED"),
            "not-signed": (failing / "acceptance.html", "NOT SIGNED"),
            "fleet": (root / "fleet" / "fleet.html", "FLEET FAIL")}


@pytest.mark.parametrize("name", ["comparison", "signed", "not-signed", "fleet"])
def test_report_page_opens_with_its_verdict_loads_its_charts_and_its_links_resolve(
        browser: Any, pages: dict[str, tuple[Path, str]], name: str) -> None:
    path, verdict = pages[name]
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    first = page.evaluate("document.body.innerText.trim().split('\\n')[0]")
    assert first.startswith(verdict), f"{path.name}: the page opens with {first!r}, expected the verdict {verdict!r}"
    images = page.evaluate("[...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0, i.naturalWidth])")
    broken = [alt for alt, loaded, _ in images if not loaded]
    assert not broken, f"{path.name}: images that did not load: {broken}"
    if name == "comparison":
        assert len(images) == 3 and all(w >= 1000 for _, _, w in images), f"expected 3 readable charts: {images}"
    links = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
    assert links, f"{path.name}: no evidence links"
    dead = []
    for href in links:
        url = urlparse(href)
        if url.fragment and href.split("#")[0] == path.as_uri():
            if not page.evaluate("id => document.getElementById(id) !== null", unquote(url.fragment)):
                dead.append(href)
        elif url.scheme == "file" and not Path(unquote(url.path)).exists():
            dead.append(href)
        elif url.scheme not in ("file",):
            dead.append(f"{href} (points outside the report folder)")
    assert not dead, f"{path.name}: evidence links that do not resolve: {dead}"
    assert not problems, f"{path.name}: {problems}"
    page.close()
