"""Browser tests: a real Chromium driven by Playwright, against a real gateway process.

Chromium comes from ``CHROMIUM_PATH`` or ``chromium`` on the PATH (Playwright's own
browser downloads are not used). Without Chromium or Playwright these tests are
skipped with a loud reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import pytest

from tests.support.processes import ROOT

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Page, Request, Route

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Runs in the page before its own scripts; Playwright injects it past the page's CSP.
_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


def _not_run(reason: str) -> NoReturn:
    message = f"{reason}; browser tests NOT RUN"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — under CI=true this is a failure")
    pytest.skip("!!! " + message + " !!!")


def chromium_path() -> str | None:
    """``CHROMIUM_PATH``, else ``chromium`` on the PATH; None when there is no such file."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    return path if path and Path(path).is_file() else None


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium, closed after the test."""
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright
    except ImportError as exc:
        _not_run(f"Playwright is not installed ({exc}); pip install -e '.[dev]'")
    executable = chromium_path()
    if executable is None:
        _not_run(f"no Chromium at {os.environ.get('CHROMIUM_PATH') or 'CHROMIUM_PATH or on the PATH'}")
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            first_line = next(iter(str(exc).splitlines()), "no message")
            _not_run(f"Chromium at {executable} did not start ({first_line})")
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def artifacts_dir() -> Path:
    """``<repo>/test-artifacts/``: screenshots and the like, kept after the run (gitignored)."""
    directory = ROOT / "test-artifacts"
    directory.mkdir(exist_ok=True)
    return directory


@dataclass
class PageWatch:
    """What a page asked the network for and complained about.

    Requests to a host not in ``allowed_hosts`` (``host:port``) are aborted and listed
    in ``foreign``, so a test shows a page that would reach out fails without the
    network. ``errors`` holds console errors and uncaught exceptions (a CSP refusal is
    both a console error and, from ``csp_violations``, a ``securitypolicyviolation``).
    """

    allowed_hosts: frozenset[str]
    requests: list[Request] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def route(self, route: Route) -> None:
        request = route.request
        self.requests.append(request)
        if urlsplit(request.url).netloc in self.allowed_hosts:
            await route.continue_()
        else:
            self.foreign.append(f"{request.method} {request.url}")
            await route.abort("blockedbyclient")

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")

    async def csp_violations(self, page: Page) -> list[str]:
        violations: list[str] = await page.evaluate("window.__cspViolations || []")
        return violations

    def requests_to(self, path: str, method: str = "POST") -> list[Request]:
        return [r for r in self.requests if r.method == method and urlsplit(r.url).path == path]


async def watch(page: Page, *allowed_origins: str) -> PageWatch:
    """Record (and keep to ``allowed_origins``, e.g. ``http://127.0.0.1:8000``) what ``page`` loads."""
    watcher = PageWatch(frozenset(urlsplit(origin).netloc for origin in allowed_origins))
    await page.route("**/*", watcher.route)
    await page.add_init_script(_RECORD_CSP_VIOLATIONS)
    page.on("console", watcher.console)
    page.on("pageerror", watcher.page_error)
    return watcher
