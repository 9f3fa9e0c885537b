"""GraphiQL in a real browser: a developer pastes a bearer token and runs a signed-in query, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import watch
from tests.support.client import served_gateway
from tests.support.settings import development_env

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, BrowserContext, Page

    from tests.browser.conftest import PageWatch
    from tests.support.client import Gateway
    from tests.support.mail import SmtpSink

pytestmark = pytest.mark.browser

EMAIL = "ann@example.com"
QUERY = "{ me { email } }"
QUERY_EDITOR = ".graphiql-query-editor"
HEADERS_EDITOR = 'section[aria-label="Headers"] .graphiql-editor:not(.hidden)'  # the Variables one is hidden
VARIABLES_EDITOR = 'section[aria-label="Variables"] .graphiql-editor:not(.hidden)'


@pytest.fixture
async def gateway_process(smtp_server: SmtpSink, tmp_path: Path) -> AsyncIterator[Gateway]:
    """``python server.py`` in development, on a free port."""
    async with served_gateway(development_env(smtp_server.port, tmp_path), smtp_server) as gateway:
        yield gateway


@pytest.fixture
def origin(gateway_process: Gateway) -> str:
    return str(gateway_process.http.base_url).rstrip("/")


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile (nothing in localStorage) the size of a laptop screen, allowed to use the clipboard."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, permissions=["clipboard-read", "clipboard-write"]
    )
    yield context
    await context.close()


async def open_graphiql(context: BrowserContext, origin: str) -> tuple[Page, PageWatch]:
    """GraphiQL at ``origin``/graphql, started, with every request it makes watched."""
    from playwright.async_api import expect  # here: without Playwright, the fixtures skip first

    page = await context.new_page()
    watcher = await watch(page, origin)
    await page.goto(f"{origin}/graphql")
    try:
        await expect(page.locator(f"{QUERY_EDITOR} .CodeMirror")).to_contain_text("query Me")  # our default query
    except AssertionError as exc:
        raise AssertionError(f"GraphiQL did not start; the page reported {watcher.errors}") from exc
    return page, watcher


async def paste(page: Page, editor: str, text: str) -> None:
    """As a developer would: copy ``text``, click into ``editor`` (a CSS selector), paste."""
    await page.evaluate("text => navigator.clipboard.writeText(text)", text)
    await page.locator(f"{editor} .CodeMirror").click()
    await page.keyboard.press("ControlOrMeta+V")


async def editor_text(page: Page, editor: str) -> str:
    """What the CodeMirror editor inside ``editor`` (a CSS selector) holds."""
    text: str = await page.evaluate(
        "selector => document.querySelector(selector + ' .CodeMirror').CodeMirror.getValue()", editor
    )
    return text


async def assert_quiet(page: Page, watcher: PageWatch) -> None:
    """Nothing went to another host, and no error or CSP violation was reported."""
    assert watcher.foreign == []
    assert watcher.errors == []
    assert await watcher.csp_violations(page) == []
    loaded = [urlsplit(request.url).path for request in watcher.requests]
    assert [path for path in loaded if path.startswith("/graphiql/vendor/")]  # the watch saw the page load


class TestGraphiQL:
    async def test_a_pasted_bearer_token_signs_the_query_in_and_nothing_leaves_the_gateway(
        self, context: BrowserContext, gateway_process: Gateway, origin: str, artifacts_dir: Path
    ) -> None:
        from playwright.async_api import expect

        token = (await gateway_process.signed_up(EMAIL))["accessToken"]
        page, watcher = await open_graphiql(context, origin)

        await page.get_by_role("button", name="Headers").click()
        await paste(page, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {token}"}, indent=2))
        assert json.loads(await editor_text(page, HEADERS_EDITOR)) == {"Authorization": f"Bearer {token}"}

        await page.locator(f"{QUERY_EDITOR} .CodeMirror").click()
        await page.keyboard.press("ControlOrMeta+A")
        await page.keyboard.type(QUERY)
        assert await editor_text(page, QUERY_EDITOR) == QUERY
        # GraphiQL reads an edit (and its operation name) 100 ms after the last key, as it stores it
        await page.wait_for_function("query => localStorage.getItem('graphiql:query') === query", arg=QUERY)
        await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()

        await expect(page.locator(".graphiql-response")).to_contain_text(f'"email": "{EMAIL}"')
        await page.screenshot(path=artifacts_dir / "graphiql.png")
        [sent] = [request for request in watcher.requests_to("/graphql") if QUERY in (request.post_data or "")]
        headers = await sent.all_headers()
        assert headers["authorization"] == f"Bearer {token}"
        assert headers["x-requested-with"] == "GraphiQL"  # what the gateway's CSRF rule asks of a POST
        await assert_quiet(page, watcher)

    async def test_its_dialogs_open_within_the_content_security_policy(
        self, context: BrowserContext, origin: str
    ) -> None:
        # They insert <style> elements as they open: this is why style-src allows 'unsafe-inline'.
        from playwright.async_api import expect

        page, watcher = await open_graphiql(context, origin)

        for button, title in [("Open settings dialog", "Settings"), ("Open short keys dialog", "Short Keys")]:
            await page.get_by_role("button", name=button).click()
            dialog = page.get_by_role("dialog")
            await expect(dialog).to_contain_text(title)
            await page.keyboard.press("Escape")
            await expect(dialog).to_have_count(0)
        await assert_quiet(page, watcher)

    async def test_pasted_headers_are_not_kept_in_local_storage(self, context: BrowserContext, origin: str) -> None:
        page, _ = await open_graphiql(context, origin)
        await paste(page, HEADERS_EDITOR, '{"Authorization": "Bearer secret-token"}')

        # GraphiQL stores the variables and (when it persists them) the headers 500 ms after
        # their last edit: once variables pasted after the headers are stored, so are they.
        await page.get_by_role("button", name="Variables").click()
        await paste(page, VARIABLES_EDITOR, '{"pasted": "after"}')
        await page.wait_for_function("() => localStorage.getItem('graphiql:variables') === '{\"pasted\": \"after\"}'")

        stored: str = await page.evaluate("JSON.stringify(Object.entries(localStorage))")
        assert "secret-token" not in stored
