"""The example SPA (examples/spa) in Chromium, against a real gateway process in cookie mode.

The SPA is served from one origin (http://localhost:A) and the gateway from another
(http://localhost:B): same site, different origins, so CORS, the SameSite=Strict
refresh cookie and the X-Requested-With rule are all exercised by a real browser.
Codes are read from a real aiosmtpd server.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyotp
import pytest

from tests.support.client import PASSWORD, served_gateway
from tests.support.oidc_provider import mock_provider, set_user
from tests.support.processes import ROOT, RunningProcess, free_port
from tests.support.settings import development_env

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from playwright.async_api import Browser, BrowserContext, Page

    from tests.support.client import Gateway
    from tests.support.mail import SmtpSink

pytestmark = pytest.mark.browser

SPA_DIR = ROOT / "examples" / "spa"
ACCESS_TOKEN_SECONDS = 4  # short, so the SPA refreshes silently within the test
EMAIL = "ann@example.com"


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """``python -m http.server`` on a free port: the origin it serves ``directory`` from."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://localhost:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def spa_origin() -> Iterator[str]:
    with static_server(SPA_DIR) as origin:
        yield origin


@pytest.fixture
async def cookie_gateway(spa_origin: str, smtp_server: SmtpSink, tmp_path: Path) -> AsyncIterator[tuple[Gateway, str]]:
    """A gateway process in cookie mode that allows the SPA's origin; and its GraphQL URL."""
    env = development_env(
        smtp_server.port,
        tmp_path,
        REFRESH_TOKEN_TRANSPORT="cookie",
        CORS_ORIGINS=spa_origin,
        ACCESS_TOKEN_TTL_SECONDS=str(ACCESS_TOKEN_SECONDS),
    )
    async with served_gateway(env, smtp_server) as gateway:
        yield gateway, f"http://localhost:{gateway.http.base_url.port}/graphql"


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context()
    yield context
    await context.close()


async def wait_for_code(mailbox: SmtpSink, email: str) -> str:
    for _ in range(100):
        if mailbox.bodies_to(email):
            break
        await asyncio.sleep(0.05)
    match = re.search(r"\b(\d{6})\b", mailbox.bodies_to(email)[-1])
    assert match, mailbox.bodies_to(email)[-1]
    return match.group(1)


async def refresh_cookie(context: BrowserContext) -> dict[str, Any] | None:
    cookies = [dict(c) for c in await context.cookies() if c["name"] == "__Secure-refresh_token"]
    return cookies[0] if cookies else None


async def sign_up(page: Page, mailbox: SmtpSink) -> None:
    await page.wait_for_selector("#signed-out", state="visible")
    await page.fill("#register-form input[name=email]", EMAIL)
    await page.fill("#register-form input[name=password]", PASSWORD)
    await page.click("#register-form button")
    await page.wait_for_selector("#code-step", state="visible")
    await page.fill("#code-form input[name=code]", await wait_for_code(mailbox, EMAIL))
    await page.click("#code-form button")
    await page.wait_for_selector("#signed-in", state="visible")


async def sign_out_then_in_with_the_password(page: Page) -> None:
    """Sign out, then submit the sign-in form with the right password (what comes next is the caller's)."""
    await page.click("#logout")
    await page.wait_for_selector("#signed-out", state="visible")
    await page.fill("#login-form input[name=email]", EMAIL)
    await page.fill("#login-form input[name=password]", PASSWORD)
    await page.click("#login-form button")


async def test_the_example_spa_signs_up_refreshes_silently_and_signs_out(
    context: BrowserContext,
    spa_origin: str,
    cookie_gateway: tuple[Gateway, str],
    artifacts_dir: Path,
) -> None:
    gateway, graphql_url = cookie_gateway
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{spa_origin}/?gateway={graphql_url}")

    # sign up, with the code from the mail server
    await sign_up(page, gateway.mailbox)
    assert await page.inner_text("#me-email") == EMAIL

    # the refresh token is in an HttpOnly, Secure, Strict cookie scoped to /graphql, out of JavaScript's reach
    cookie = await refresh_cookie(context)
    assert cookie is not None
    assert cookie["httpOnly"]
    assert cookie["secure"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/graphql"
    assert await page.evaluate("document.cookie") == ""
    # no token in localStorage or sessionStorage: only the gateway's address, for this tab
    assert await page.evaluate("JSON.stringify(localStorage)") == "{}"
    assert await page.evaluate("JSON.stringify(sessionStorage)") == json.dumps(
        {"gateway": graphql_url}, separators=(",", ":")
    )

    # the SPA refreshes before each access token expires: well past the first token's
    # lifetime, `me` still answers, and the cookie has rotated
    await page.wait_for_function("Number(document.getElementById('refresh-count').textContent) >= 2", timeout=20_000)
    await page.click("#reload-me")
    await page.wait_for_timeout(300)
    assert await page.inner_text("#me-email") == EMAIL
    rotated = await refresh_cookie(context)
    assert rotated is not None
    assert rotated["value"] != cookie["value"]
    assert await page.inner_text("#status") == ""

    # a reload loses the access token (memory only); the cookie signs the person back in
    await page.reload()
    await page.wait_for_selector("#signed-in", state="visible")
    assert await page.inner_text("#me-email") == EMAIL
    await page.screenshot(path=str(artifacts_dir / "example-spa.png"))

    # sign out: the session ends and the cookie is gone, so a reload stays signed out
    await page.click("#logout")
    await page.wait_for_selector("#signed-out", state="visible")
    assert await page.inner_text("#status") == "Signed out."
    assert await refresh_cookie(context) is None
    await page.reload()
    await page.wait_for_selector("#signed-out", state="visible")
    assert errors == []


async def test_the_example_spa_signs_in_with_a_password(
    context: BrowserContext, spa_origin: str, cookie_gateway: tuple[Gateway, str]
) -> None:
    gateway, graphql_url = cookie_gateway
    await gateway.register(EMAIL, headers={"X-Requested-With": "tests"})
    await gateway.verify(EMAIL, await gateway.last_code(EMAIL), headers={"X-Requested-With": "tests"})
    page = await context.new_page()
    await page.goto(f"{spa_origin}/?gateway={graphql_url}")
    await page.wait_for_selector("#signed-out", state="visible")

    await page.fill("#login-form input[name=email]", EMAIL)
    await page.fill("#login-form input[name=password]", "not the password")
    await page.click("#login-form button")
    await page.wait_for_function("document.getElementById('status').textContent !== ''")
    assert "password" in (await page.inner_text("#status")).lower()

    await page.fill("#login-form input[name=password]", PASSWORD)
    await page.click("#login-form button")
    await page.wait_for_selector("#signed-in", state="visible")
    assert await page.inner_text("#me-email") == EMAIL


ATTACKER_PAGE = """<!doctype html>
<html><body>
<form id="form" method="POST" action="{graphql_url}" enctype="text/plain" target="sink">
  <input name='{{"query":"mutation {{ refreshToken {{ __typename }} }}","x":"' value='"}}' />
</form>
<iframe name="sink"></iframe>
<script>
  window.results = {{}};
  const body = JSON.stringify({{ query: "mutation {{ refreshToken {{ __typename }} }}" }});
  // a script on another origin: with the header it needs a preflight, which the gateway refuses
  window.withHeader = fetch("{graphql_url}", {{
    method: "POST", credentials: "include",
    headers: {{ "Content-Type": "application/json", "X-Requested-With": "x" }}, body,
  }}).then(() => "answered", (e) => "blocked: " + e.message);
  // without a preflight: the browser sends it, with the cookie, but the gateway refuses it
  window.noCors = fetch("{graphql_url}", {{
    method: "POST", mode: "no-cors", credentials: "include", headers: {{ "Content-Type": "text/plain" }}, body,
  }}).then(() => "sent", (e) => "blocked: " + e.message);
  document.getElementById("form").submit();
</script>
</body></html>
"""


async def test_another_origin_cannot_use_the_cookie(
    context: BrowserContext,
    spa_origin: str,
    cookie_gateway: tuple[Gateway, str],
    tmp_path: Path,
) -> None:
    """A page on the same site but another origin (not in CORS_ORIGINS) tries a form post and two fetches."""
    gateway, graphql_url = cookie_gateway
    page = await context.new_page()
    await page.goto(f"{spa_origin}/?gateway={graphql_url}")
    await sign_up(page, gateway.mailbox)
    cookie = await refresh_cookie(context)
    assert cookie is not None

    attacker_dir = tmp_path / "attacker"
    attacker_dir.mkdir()
    (attacker_dir / "index.html").write_text(ATTACKER_PAGE.format(graphql_url=graphql_url))
    statuses: list[tuple[str, int]] = []
    with static_server(attacker_dir) as attacker_origin:
        attacker = await context.new_page()
        attacker.on(
            "response",
            lambda response: (
                statuses.append((response.request.method, response.status))
                if response.url.startswith(graphql_url)
                else None
            ),
        )
        await attacker.goto(f"{attacker_origin}/index.html")
        assert (await attacker.evaluate("window.withHeader")).startswith("blocked")
        assert await attacker.evaluate("window.noCors") == "sent"
        await attacker.wait_for_timeout(500)  # the form's answer, in the iframe

    # the fetch with the header never left the browser (its preflight was refused); the form
    # post and the no-cors fetch reached the gateway, with the cookie (same site), and were
    # refused for want of the header
    assert statuses == [("POST", 403), ("POST", 403)]
    # nothing happened: the cookie is the one the SPA had, and it still works
    assert await refresh_cookie(context) == cookie
    await page.reload()
    await page.wait_for_selector("#signed-in", state="visible")


async def test_the_example_spa_sets_up_an_authenticator_app_and_signs_in_in_two_steps(
    context: BrowserContext,
    spa_origin: str,
    cookie_gateway: tuple[Gateway, str],
    artifacts_dir: Path,
) -> None:
    gateway, graphql_url = cookie_gateway
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{spa_origin}/?gateway={graphql_url}")
    await sign_up(page, gateway.mailbox)
    await page.wait_for_function("document.getElementById('two-step-status').textContent.startsWith('Off:')")

    # set up: the QR code is the gateway's SVG, shown as an image; the test is the app
    await page.click("#totp-begin")
    await page.wait_for_selector("#totp-setup", state="visible")
    qr = await page.get_attribute("#totp-qr", "src")
    assert qr is not None
    assert qr.startswith("data:image/svg+xml")
    assert await page.evaluate("document.getElementById('totp-qr').naturalWidth") > 0  # it rendered
    app = pyotp.TOTP(await page.inner_text("#totp-secret"))
    await page.screenshot(path=str(artifacts_dir / "totp-enrolment.png"), full_page=True)
    await page.fill("#totp-confirm-form input[name=code]", app.now())
    await page.click("#totp-confirm-form button")
    await page.wait_for_selector("#recovery-codes", state="visible")
    codes = (await page.inner_text("#recovery-code-list")).split()
    assert len(codes) == 10
    await page.wait_for_function("document.getElementById('two-step-status').textContent.startsWith('On:')")
    await page.click("#recovery-codes-saved")
    assert await page.inner_text("#recovery-code-list") == ""

    # sign out; the password alone now leads to the second step
    await sign_out_then_in_with_the_password(page)
    await page.wait_for_selector("#second-step", state="visible")
    await page.fill("#second-step-form input[name=code]", "000000")
    await page.click("#second-step-form button")
    await page.wait_for_function("document.getElementById('status').textContent.includes('not right')")
    # the code of the next 30-second step (the app's clock may run one step ahead; this
    # step's code was spent by the set-up)
    await page.fill("#second-step-form input[name=code]", app.at(time.time() + 30))
    await page.click("#second-step-form button")
    await page.wait_for_selector("#signed-in", state="visible")
    assert await page.inner_text("#me-email") == EMAIL

    # and with a recovery code, as typed from paper
    await sign_out_then_in_with_the_password(page)
    await page.wait_for_selector("#second-step", state="visible")
    await page.fill("#second-step-form input[name=code]", codes[0].upper())
    await page.click("#second-step-form button")
    await page.wait_for_selector("#signed-in", state="visible")
    await page.wait_for_function("document.getElementById('two-step-status').textContent.includes('9 recovery')")
    assert errors == []


async def test_the_example_spa_adds_a_passkey_and_signs_in_with_it_alone(
    context: BrowserContext,
    spa_origin: str,
    cookie_gateway: tuple[Gateway, str],
) -> None:
    """WebAuthn for real: Chromium's virtual authenticator (the DevTools protocol's WebAuthn
    domain), a platform authenticator that keeps passkeys and verifies its user."""
    gateway, graphql_url = cookie_gateway
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    devtools = await context.new_cdp_session(page)
    await devtools.send("WebAuthn.enable")
    authenticator = await devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    await page.goto(f"{spa_origin}/?gateway={graphql_url}")
    await sign_up(page, gateway.mailbox)

    await page.fill("#passkey-add-form input[name=name]", "Test laptop")
    await page.fill("#passkey-add-form input[name=password]", PASSWORD)
    await page.click("#passkey-add-form button")
    await page.wait_for_function("document.getElementById('passkey-list').textContent.includes('Test laptop')")
    stored = await devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]})
    [credential] = stored["credentials"]
    assert credential["isResidentCredential"] is True
    assert credential["rpId"] == "localhost"

    # the password now leads to a second step, which the passkey completes
    await sign_out_then_in_with_the_password(page)
    await page.wait_for_selector("#second-step-passkey", state="visible")
    await page.click("#second-step-passkey")
    await page.wait_for_selector("#signed-in", state="visible")

    # signed out, then back in with the passkey alone: no address, no password
    await page.click("#logout")
    await page.wait_for_selector("#signed-out", state="visible")
    await page.click("#passkey-sign-in")
    await page.wait_for_selector("#signed-in", state="visible")
    assert await page.inner_text("#me-email") == EMAIL
    await page.wait_for_function("document.getElementById('passkey-list').textContent.includes('last used')")
    stored = await devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]})
    assert stored["credentials"][0]["signCount"] >= 1

    # the gateway's options demand user verification: an authenticator that cannot verify its
    # user gets nowhere (the browser refuses; the API tests show the gateway refusing too)
    await page.click("#logout")
    await page.wait_for_selector("#signed-out", state="visible")
    await devtools.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator["authenticatorId"], "isUserVerified": False}
    )
    await page.click("#passkey-sign-in")
    await page.wait_for_function("document.getElementById('status').textContent.includes('not allowed')")
    assert await page.is_visible("#signed-out")
    assert errors == []


# ---- sign-in with a provider: oidc-provider-mock, a real OpenID Connect provider process ----


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningProcess]:
    with mock_provider() as running:
        yield running


@pytest.fixture
async def provider_gateway(
    spa_origin: str, smtp_server: SmtpSink, tmp_path: Path, provider: RunningProcess
) -> AsyncIterator[tuple[Gateway, str]]:
    """A gateway process in cookie mode with the mock provider as "Mock ID", sending the
    browser back to the SPA's page; and its GraphQL URL."""
    providers = {
        "mock": {
            "issuer": provider.url,
            "client_id": "example-spa",
            "client_secret": "example-spa-secret",
            "display_name": "Mock ID",
        }
    }
    env = development_env(
        smtp_server.port,
        tmp_path,
        REFRESH_TOKEN_TRANSPORT="cookie",
        CORS_ORIGINS=spa_origin,
        PUBLIC_URL="http://localhost:{port}",  # the host the SPA talks to: the binding cookie's
        OIDC_PROVIDERS=json.dumps(providers),
        OIDC_RETURN_URLS=f"{spa_origin}/",
        OIDC_TIMEOUT_SECONDS="10",
    )
    async with served_gateway(env, smtp_server) as gateway:
        yield gateway, f"http://localhost:{gateway.http.base_url.port}/graphql"


async def at_the_provider_as(page: Page, sub: str) -> None:
    """On the provider's page: sign in as ``sub``."""
    await page.wait_for_selector("input[name=sub]")
    await page.fill("input[name=sub]", sub)
    await page.click("button:has-text('Authorize')")


async def test_the_example_spa_signs_up_with_a_provider_and_keeps_its_only_way_in(
    context: BrowserContext, spa_origin: str, provider_gateway: tuple[Gateway, str], provider: RunningProcess
) -> None:
    _, graphql_url = provider_gateway
    await set_user(provider.url, "ann-at-mock-id", {"email": EMAIL, "email_verified": True})
    page = await context.new_page()
    await page.goto(f"{spa_origin}/?gateway={graphql_url}")
    await page.wait_for_selector("#signed-out", state="visible")

    await page.click("#provider-sign-in button[data-provider=mock]")
    await at_the_provider_as(page, "ann-at-mock-id")
    await page.wait_for_selector("#signed-in", state="visible")
    assert await page.inner_text("#me-email") == EMAIL
    assert page.url == f"{spa_origin}/"  # the one-time code is out of the address bar
    assert "Mock ID" in await page.inner_text("#identity-list")

    # the account has no password: its provider is its only way in, and stays
    await page.click("#identity-list button[data-provider=mock]")
    await page.wait_for_function("document.getElementById('status').textContent !== ''")
    assert "Mock ID" in await page.inner_text("#identity-list")


async def test_the_example_spa_links_a_provider_to_a_password_account_and_unlinks_it(
    context: BrowserContext, spa_origin: str, provider_gateway: tuple[Gateway, str], provider: RunningProcess
) -> None:
    gateway, graphql_url = provider_gateway
    await gateway.register(EMAIL, headers={"X-Requested-With": "tests"})
    await gateway.verify(EMAIL, await gateway.last_code(EMAIL), headers={"X-Requested-With": "tests"})
    await set_user(provider.url, "ann-elsewhere", {"email": EMAIL, "email_verified": True})
    page = await context.new_page()
    await page.goto(f"{spa_origin}/?gateway={graphql_url}")
    await page.wait_for_selector("#signed-out", state="visible")
    await page.fill("#login-form input[name=email]", EMAIL)
    await page.fill("#login-form input[name=password]", PASSWORD)
    await page.click("#login-form button")
    await page.wait_for_selector("#signed-in", state="visible")
    assert await page.inner_text("#identity-list") == ""

    # the same address at the provider: never linked by the provider's word alone, but by
    # the account's owner, signed in (the cookie brings the session back after the trip)
    await page.click("#provider-link button[data-provider=mock]")
    await at_the_provider_as(page, "ann-elsewhere")
    await page.wait_for_selector("#identity-list li")
    assert "Mock ID" in await page.inner_text("#identity-list")
    assert "linked" in (await page.inner_text("#status")).lower()

    await page.click("#identity-list button[data-provider=mock]")
    await page.wait_for_function("document.getElementById('identity-list').children.length === 0")
    assert "no longer" in (await page.inner_text("#status")).lower()


async def test_the_example_spa_confirms_an_address_the_provider_did_not_vouch_for(
    context: BrowserContext, spa_origin: str, provider_gateway: tuple[Gateway, str], provider: RunningProcess
) -> None:
    gateway, graphql_url = provider_gateway
    await set_user(provider.url, "ann-unverified", {"email": EMAIL, "email_verified": False})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{spa_origin}/?gateway={graphql_url}")
    await page.wait_for_selector("#signed-out", state="visible")

    # the provider does not vouch for the address: the gateway mails a code to it first
    await page.click("#provider-sign-in button[data-provider=mock]")
    await at_the_provider_as(page, "ann-unverified")
    await page.wait_for_selector("#provider-email-step", state="visible")
    assert await page.inner_text("#provider-email") == EMAIL
    assert page.url == f"{spa_origin}/"
    code = await wait_for_code(gateway.mailbox, EMAIL)

    # a wrong code: the error shows and the form stays, for another try
    wrong = "000000" if code != "000000" else "111111"
    await page.fill("#provider-email-form input[name=code]", wrong)
    await page.click("#provider-email-form button")
    await page.wait_for_function("document.getElementById('status').textContent.includes('not right')")
    assert await page.is_visible("#provider-email-step")

    # the mailed code makes the account and signs in; the ticket was in memory only
    await page.fill("#provider-email-form input[name=code]", code)
    await page.click("#provider-email-form button")
    await page.wait_for_selector("#signed-in", state="visible")
    assert await page.inner_text("#me-email") == EMAIL
    assert "Mock ID" in await page.inner_text("#identity-list")
    assert await page.inner_text("#status") == ""
    assert await page.evaluate("JSON.stringify(localStorage)") == "{}"
    assert await page.evaluate("JSON.stringify(sessionStorage)") == json.dumps(
        {"gateway": graphql_url}, separators=(",", ":")
    )
    assert page.url == f"{spa_origin}/"
    assert errors == []
