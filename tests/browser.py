"""Headless Debian chromium driven by Playwright (`executable_path`: no browser download), for the tests that
open pages: a browser per test module, a page per test, and a screenshot of that page kept when the test fails.

A pytest plugin (tests/conftest.py loads it). The browser lives for one module, not the session: while
Playwright's sync API is started it marks its event loop as running in this thread, so `asyncio.run` (Prefect's
clients in later tests) would fail until it stops."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from mdp.paths import PROJECT_ROOT

INSTALL_HINT = "apt-get install -y chromium (Debian's package; `make browser` installs it), or set $MDP_CHROMIUM"
ARTIFACTS_ENV = "MDP_TEST_ARTIFACTS"
SCREENSHOT_TIMEOUT_MS = 15_000
_BROWSERS = pytest.StashKey[list[Browser]]()


def chromium_binary() -> str | None:
    """$MDP_CHROMIUM, else chromium or chromium-browser on PATH."""
    explicit = os.environ.get("MDP_CHROMIUM")
    if explicit:
        return shutil.which(explicit) or explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


def artifacts_dir() -> Path:
    """Where failing tests leave their screenshots: $MDP_TEST_ARTIFACTS, else <repo>/test-artifacts."""
    return Path(os.environ.get(ARTIFACTS_ENV) or PROJECT_ROOT / "test-artifacts")


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    binary = chromium_binary()
    if binary is None:
        pytest.fail(f"chromium is not installed: {INSTALL_HINT}")
    open_browsers = request.config.stash.setdefault(_BROWSERS, [])
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        open_browsers.append(launched)
        try:
            yield launched
        finally:
            open_browsers.remove(launched)
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (no cookies or storage from other tests) at the browser's window size."""
    context = browser.new_context(no_viewport=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def _latest_page(config: pytest.Config) -> Page | None:
    pages = [p for b in config.stash.get(_BROWSERS, []) for c in b.contexts for p in c.pages if not p.is_closed()]
    return pages[-1] if pages else None


def screenshot_path(nodeid: str) -> Path:
    return artifacts_dir() / (re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_") + ".png")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test (or set-up) with a page open: its whole page as PNG, the file named in the report."""
    report: pytest.TestReport = yield
    if report.failed and report.when in ("setup", "call"):
        page = _latest_page(item.config)
        if page is not None:
            path = screenshot_path(item.nodeid)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=path, full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
                note = f"{path} (page {page.url})"
            except (PlaywrightError, OSError) as exc:
                note = f"no screenshot of {page.url}: {exc}"
            report.sections.append(("browser screenshot", note))
    return report
