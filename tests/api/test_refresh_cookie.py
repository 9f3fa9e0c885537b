"""The refresh token in an HttpOnly cookie (REFRESH_TOKEN_TRANSPORT=cookie or both), over HTTP.

The client is a browser as far as cookies go: httpx's cookie jar on an https://
base URL keeps what the gateway sets and sends it back, Secure cookies included.
Where a test needs one particular cookie it sends the ``Cookie`` header itself
(the jar adds nothing to a request that has one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from tests.support.client import Gateway, GatewayFactory
from tests.support.clock import AdjustableClock

SECURE_COOKIE = "__Secure-refresh_token"
PLAIN_COOKIE = "refresh_token"
XHR = {"X-Requested-With": "XMLHttpRequest"}  # what every request carries in cookie mode (test_csrf_and_cors.py)
IDLE_TTL = 14 * 24 * 3600
ANN = "ann@example.com"
NEW_PASSWORD = "a brand new passphrase"


@dataclass(frozen=True)
class SetCookie:
    """One Set-Cookie header: attribute names lower-cased, flags (``Secure``) as ``""``."""

    name: str
    value: str
    attributes: dict[str, str]

    @classmethod
    def parse(cls, header: str) -> SetCookie:
        pair, *rest = header.split(";")
        name, _, value = pair.partition("=")
        attributes: dict[str, str] = {}
        for item in rest:
            key, _, attribute_value = item.partition("=")
            key = key.strip().lower()
            assert key not in attributes, f"{key} twice in {header!r}"
            attribute_value = attribute_value.strip()
            attributes[key] = attribute_value.lower() if key == "samesite" else attribute_value
        return cls(name.strip(), value.strip().strip('"'), attributes)

    @property
    def clears(self) -> bool:
        return self.attributes.get("max-age") == "0"


def last(gateway: Gateway) -> httpx.Response:
    """The response to the gateway's last ``post``."""
    assert gateway.last_response is not None
    return gateway.last_response


def set_cookies(response: httpx.Response | None) -> list[SetCookie]:
    assert response is not None
    return [SetCookie.parse(header) for header in response.headers.get_list("set-cookie")]


def the_cookie(response: httpx.Response | None) -> SetCookie:
    cookies = set_cookies(response)
    assert len(cookies) == 1, cookies
    return cookies[0]


def expected_attributes(max_age: int, *, same_site: str = "strict", secure: bool = True) -> dict[str, str]:
    attributes = {"httponly": "", "max-age": str(max_age), "path": "/graphql", "samesite": same_site}
    if secure:
        attributes["secure"] = ""
    return attributes


def delivered(response: httpx.Response | None, *, max_age: int = IDLE_TTL) -> str:
    """The refresh token the response set in the cookie, after checking every attribute of it."""
    cookie = the_cookie(response)
    assert cookie.name == SECURE_COOKIE
    assert cookie.attributes == expected_attributes(max_age)
    assert len(cookie.value) == 43  # 256 bits, base64url
    return cookie.value


def assert_cleared(response: httpx.Response | None, *, name: str = SECURE_COOKIE, **cookie: Any) -> None:
    """The response tells the browser to drop the cookie: same name and path; still Secure, or a
    browser would ignore the deletion of a __Secure- cookie."""
    [cleared] = set_cookies(response)
    assert cleared.name == name
    assert cleared.value == ""
    expires = parsedate_to_datetime(cleared.attributes.pop("expires"))
    assert expires <= datetime.now(UTC)
    assert cleared.attributes == expected_attributes(0, **cookie)


def with_cookie(token: str, name: str = SECURE_COOKIE) -> dict[str, str]:
    return {"Cookie": f"{name}={token}"}


def jar(gateway: Gateway) -> str | None:
    return gateway.http.cookies.get(SECURE_COOKIE)


async def refreshed_with(gateway: Gateway, token: str) -> dict[str, Any]:
    """``refreshToken`` without input, from a browser whose cookie holds ``token``."""
    return await gateway.refresh_from_cookie(headers=with_cookie(token))


@pytest.fixture
async def browser(gateway_factory: GatewayFactory) -> Gateway:
    """Cookie transport, and a client that keeps cookies and sends the CSRF header like a SPA."""
    started: Gateway = await gateway_factory(
        refresh_token_transport="cookie", base_url="https://gateway.test", headers=XHR
    )
    return started


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
async def browser_with_clock(gateway_factory: GatewayFactory, clock: AdjustableClock) -> Gateway:
    started: Gateway = await gateway_factory(
        clock=clock, refresh_token_transport="cookie", base_url="https://gateway.test", headers=XHR
    )
    return started


class TestTheCookie:
    async def test_sign_in_sets_an_httponly_secure_strict_cookie_for_graphql_only(self, browser: Gateway) -> None:
        payload = await browser.signed_up(ANN)
        [header] = last(browser).headers.get_list("set-cookie")
        cookie = SetCookie.parse(header)
        assert cookie.name == "__Secure-refresh_token"
        assert cookie.attributes == {
            "httponly": "",
            "secure": "",
            "samesite": "strict",
            "path": "/graphql",
            "max-age": str(IDLE_TTL),  # no Domain: the gateway's host only
        }
        assert payload["refreshToken"] is None
        assert payload["accessToken"]
        assert jar(browser) == cookie.value

    async def test_the_body_never_holds_the_token(self, browser: Gateway) -> None:
        await browser.signed_up(ANN)
        token = delivered(browser.last_response)
        assert token not in last(browser).text
        refreshed = await browser.refresh_from_cookie()
        assert refreshed["refreshToken"] is None
        assert delivered(browser.last_response) not in last(browser).text

    async def test_what_signs_no_one_in_sets_no_cookie(self, browser: Gateway) -> None:
        await browser.register(ANN)
        assert set_cookies(browser.last_response) == []
        code = await browser.last_code(ANN)
        wrong_code = "000000" if code != "000000" else "111111"
        assert (await browser.verify(ANN, wrong_code))["__typename"] == "InvalidOtp"
        assert set_cookies(browser.last_response) == []
        payload = await browser.verify(ANN, code)
        token = delivered(browser.last_response)
        assert (await browser.login(ANN, "not the password"))["__typename"] == "InvalidCredentials"
        assert set_cookies(browser.last_response) == []
        await browser.me(payload["accessToken"])
        assert set_cookies(browser.last_response) == []
        assert jar(browser) == token


class TestEverySignInSetsTheCookie:
    async def test_verify_otp(self, browser: Gateway) -> None:
        await browser.register(ANN)
        payload = await browser.verify(ANN, await browser.last_code(ANN))
        assert payload["__typename"] == "AuthPayload"
        assert payload["refreshToken"] is None
        token = delivered(browser.last_response)
        assert (await refreshed_with(browser, token))["__typename"] == "AuthPayload"

    async def test_login(self, browser: Gateway) -> None:
        await browser.signed_up(ANN)
        first = delivered(browser.last_response)
        payload = await browser.login(ANN)
        assert payload["__typename"] == "AuthPayload"
        assert payload["refreshToken"] is None
        second = delivered(browser.last_response)
        assert second != first
        assert jar(browser) == second
        assert (await refreshed_with(browser, second))["__typename"] == "AuthPayload"

    async def test_reset_password(self, browser: Gateway) -> None:
        await browser.signed_up(ANN)
        first = delivered(browser.last_response)
        await browser.request_password_reset(ANN)
        payload = await browser.reset_password(ANN, await browser.code_to(ANN), NEW_PASSWORD)
        assert payload["__typename"] == "AuthPayload"
        assert payload["refreshToken"] is None
        second = delivered(browser.last_response)
        assert second != first
        assert (await refreshed_with(browser, second))["__typename"] == "AuthPayload"
        # the reset ended every earlier session
        assert (await refreshed_with(browser, first))["__typename"] == "InvalidRefreshToken"

    async def test_refresh_token(self, browser: Gateway) -> None:
        await browser.signed_up(ANN)
        first = delivered(browser.last_response)
        payload = await browser.refresh_from_cookie()
        assert payload["__typename"] == "AuthPayload"
        assert payload["refreshToken"] is None
        second = delivered(browser.last_response)
        assert second != first
        assert jar(browser) == second


class TestRefreshFromTheCookie:
    async def test_each_refresh_rotates_the_cookie(self, browser: Gateway) -> None:
        await browser.signed_up(ANN)
        tokens = [delivered(browser.last_response)]
        for _ in range(3):
            payload = await browser.refresh_from_cookie()  # the jar sends the last cookie
            assert payload["__typename"] == "AuthPayload"
            assert payload["user"]["email"] == ANN
            tokens.append(delivered(browser.last_response))
        assert len(set(tokens)) == 4
        assert jar(browser) == tokens[-1]

    async def test_a_spent_cookie_repeated_within_the_grace_window_gets_the_same_successor(
        self, browser: Gateway
    ) -> None:
        await browser.signed_up(ANN)
        first = delivered(browser.last_response)
        await refreshed_with(browser, first)
        successor = delivered(browser.last_response)
        assert (await refreshed_with(browser, first))["__typename"] == "AuthPayload"  # a second tab
        repeat = the_cookie(browser.last_response)
        assert repeat.value == successor
        # counted from the rotation the first tab made, not from now
        assert IDLE_TTL - 5 <= int(repeat.attributes["max-age"]) <= IDLE_TTL

    async def test_a_spent_cookie_after_the_grace_window_revokes_the_session(
        self, browser_with_clock: Gateway, clock: AdjustableClock
    ) -> None:
        browser = browser_with_clock
        await browser.signed_up(ANN)
        first = delivered(browser.last_response)
        await refreshed_with(browser, first)
        successor = delivered(browser.last_response)
        clock.advance(seconds=11)
        assert (await refreshed_with(browser, first))["__typename"] == "InvalidRefreshToken"
        assert_cleared(browser.last_response)
        # the legitimate holder is signed out too
        assert (await refreshed_with(browser, successor))["__typename"] == "InvalidRefreshToken"
        assert_cleared(browser.last_response)

    @pytest.mark.parametrize(
        "field",
        ["refreshToken", "refreshToken(input: {})", "refreshToken(input: {refreshToken: null})"],
    )
    async def test_an_input_without_a_token_uses_the_cookie(self, browser: Gateway, field: str) -> None:
        await browser.signed_up(ANN)
        first = delivered(browser.last_response)
        body = await browser.post(f"mutation {{ {field} {{ __typename ... on AuthPayload {{ user {{ email }} }} }} }}")
        assert body == {"data": {"refreshToken": {"__typename": "AuthPayload", "user": {"email": ANN}}}}
        assert delivered(browser.last_response) != first

    async def test_a_token_in_the_input_wins_over_the_cookie(self, gateway_factory: GatewayFactory) -> None:
        # No grace: had the cookie's token been spent, using it again would revoke its session.
        browser: Gateway = await gateway_factory(
            refresh_token_transport="cookie",
            base_url="https://gateway.test",
            headers=XHR,
            refresh_token_reuse_grace_seconds=0,
        )
        await browser.signed_up("bob@example.com")
        bobs = delivered(browser.last_response)
        await browser.signed_up(ANN)
        anns = delivered(browser.last_response)
        assert jar(browser) == anns

        payload = await browser.refresh(bobs, headers=with_cookie(anns))
        assert payload["user"]["email"] == "bob@example.com"
        bobs_next = delivered(browser.last_response)
        assert (await refreshed_with(browser, bobs_next))["user"]["email"] == "bob@example.com"
        assert (await refreshed_with(browser, anns))["user"]["email"] == ANN  # untouched

    async def test_a_bad_token_in_the_input_leaves_the_cookie_alone(self, browser: Gateway) -> None:
        await browser.signed_up(ANN)
        token = delivered(browser.last_response)
        assert (await browser.refresh("x" * 43))["__typename"] == "InvalidRefreshToken"
        assert set_cookies(browser.last_response) == []
        assert jar(browser) == token
        assert (await browser.refresh_from_cookie())["__typename"] == "AuthPayload"

    @pytest.mark.parametrize(
        "cookie",
        [
            pytest.param(with_cookie("x" * 43), id="forged"),
            pytest.param(with_cookie(""), id="empty"),
            pytest.param(with_cookie("x" * 600), id="too-long"),
            pytest.param({}, id="none"),
        ],
    )
    async def test_a_forged_or_missing_cookie_is_refused_and_cleared(
        self, browser: Gateway, cookie: dict[str, str]
    ) -> None:
        payload = await browser.refresh_from_cookie(headers=cookie)
        assert payload["__typename"] == "InvalidRefreshToken"
        assert payload["code"] == "INVALID_REFRESH_TOKEN"
        assert_cleared(browser.last_response)

    async def test_an_access_token_in_the_cookie_is_refused(self, browser: Gateway) -> None:
        payload = await browser.signed_up(ANN)
        assert (await refreshed_with(browser, payload["accessToken"]))["__typename"] == "InvalidRefreshToken"
        assert_cleared(browser.last_response)
        assert jar(browser) is None

    async def test_an_idle_expired_cookie_is_refused_and_cleared(
        self, browser_with_clock: Gateway, clock: AdjustableClock
    ) -> None:
        await browser_with_clock.signed_up(ANN)
        clock.advance(seconds=IDLE_TTL + 1)
        assert (await browser_with_clock.refresh_from_cookie())["__typename"] == "InvalidRefreshToken"
        assert_cleared(browser_with_clock.last_response)
        assert jar(browser_with_clock) is None


class TestSigningOutClearsTheCookie:
    async def test_logout(self, browser: Gateway) -> None:
        payload = await browser.signed_up(ANN)
        token = delivered(browser.last_response)
        assert (await browser.logout(payload["accessToken"]))["endedSessions"] == 1
        assert_cleared(browser.last_response)
        assert jar(browser) is None
        assert (await refreshed_with(browser, token))["__typename"] == "InvalidRefreshToken"

    async def test_logout_all(self, browser: Gateway) -> None:
        await browser.signed_up(ANN)
        other_device = delivered(browser.last_response)
        payload = await browser.login(ANN)
        this_device = delivered(browser.last_response)
        assert (await browser.logout_all(payload["accessToken"]))["endedSessions"] == 2
        assert_cleared(browser.last_response)
        assert jar(browser) is None
        for token in (this_device, other_device):
            assert (await refreshed_with(browser, token))["__typename"] == "InvalidRefreshToken"

    async def test_delete_account(self, browser: Gateway) -> None:
        payload = await browser.signed_up(ANN)
        token = delivered(browser.last_response)
        assert (await browser.delete_account(payload["accessToken"]))["__typename"] == "AccountDeleted"
        assert_cleared(browser.last_response)
        assert jar(browser) is None
        assert (await refreshed_with(browser, token))["__typename"] == "InvalidRefreshToken"

    async def test_a_refused_delete_account_keeps_the_cookie(self, browser: Gateway) -> None:
        payload = await browser.signed_up(ANN)
        token = delivered(browser.last_response)
        result = await browser.delete_account(payload["accessToken"], password="not the password")
        assert result["__typename"] == "WrongPassword"
        assert set_cookies(browser.last_response) == []
        assert jar(browser) == token
        assert (await browser.refresh_from_cookie())["__typename"] == "AuthPayload"


class TestBothTransports:
    @pytest.fixture
    async def browser(self, gateway_factory: GatewayFactory) -> Gateway:
        started: Gateway = await gateway_factory(
            refresh_token_transport="both", base_url="https://gateway.test", headers=XHR
        )
        return started

    async def test_the_body_and_the_cookie_carry_the_same_token(self, browser: Gateway) -> None:
        payload = await browser.signed_up(ANN)
        assert payload["refreshToken"] == delivered(browser.last_response)

        from_body = await browser.refresh(payload["refreshToken"])  # a native app's way
        assert from_body["refreshToken"] == delivered(browser.last_response) == jar(browser)

        from_cookie = await browser.refresh_from_cookie()  # a browser's way
        assert from_cookie["refreshToken"] == delivered(browser.last_response) == jar(browser)
        assert from_cookie["refreshToken"] != from_body["refreshToken"]

    async def test_logout_clears_the_cookie(self, browser: Gateway) -> None:
        payload = await browser.signed_up(ANN)
        await browser.logout(payload["accessToken"])
        assert_cleared(browser.last_response)
        assert (await browser.refresh(payload["refreshToken"]))["__typename"] == "InvalidRefreshToken"


class TestBodyTransport:
    @pytest.fixture
    async def gateway(self, gateway_factory: GatewayFactory) -> Gateway:
        # No grace: a token the cookie had spent could not be used again.
        started: Gateway = await gateway_factory(base_url="https://gateway.test", refresh_token_reuse_grace_seconds=0)
        return started

    async def test_no_cookie_is_ever_set(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(ANN)
        assert set_cookies(gateway.last_response) == []
        payload = await gateway.refresh(payload["refreshToken"])
        assert set_cookies(gateway.last_response) == []
        assert (await gateway.refresh_from_cookie())["__typename"] == "InvalidRefreshToken"
        assert set_cookies(gateway.last_response) == []
        await gateway.logout(payload["accessToken"])
        assert set_cookies(gateway.last_response) == []
        assert len(gateway.http.cookies) == 0

    async def test_a_cookie_sent_is_ignored(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(ANN)
        token = payload["refreshToken"]
        cookies = {"Cookie": f"{SECURE_COOKIE}={token}; {PLAIN_COOKIE}={token}"}
        assert (await gateway.refresh_from_cookie(headers=cookies))["__typename"] == "InvalidRefreshToken"
        assert set_cookies(gateway.last_response) == []
        assert (await gateway.refresh(token))["__typename"] == "AuthPayload"  # it was not spent


class TestCookieSettings:
    async def test_without_secure_the_cookie_has_no_prefix_and_works_over_http(
        self, gateway_factory: GatewayFactory
    ) -> None:
        browser: Gateway = await gateway_factory(
            refresh_token_transport="cookie", refresh_cookie_secure=False, headers=XHR
        )
        assert str(browser.http.base_url).startswith("http://")
        payload = await browser.signed_up(ANN)
        cookie = the_cookie(browser.last_response)
        assert cookie.name == PLAIN_COOKIE
        assert cookie.attributes == expected_attributes(IDLE_TTL, secure=False)

        assert (await browser.refresh_from_cookie())["__typename"] == "AuthPayload"  # the jar sent it over http
        rotated = the_cookie(browser.last_response)
        assert rotated.name == PLAIN_COOKIE
        assert rotated.value != cookie.value

        await browser.logout(payload["accessToken"])
        assert_cleared(browser.last_response, name=PLAIN_COOKIE, secure=False)
        assert len(browser.http.cookies) == 0
        refused = await browser.refresh_from_cookie(headers=with_cookie(rotated.value, PLAIN_COOKIE))
        assert refused["__typename"] == "InvalidRefreshToken"

    async def test_the_secure_cookie_name_is_not_read_without_secure(self, gateway_factory: GatewayFactory) -> None:
        browser: Gateway = await gateway_factory(
            refresh_token_transport="cookie", refresh_cookie_secure=False, headers=XHR
        )
        await browser.signed_up(ANN)
        token = the_cookie(browser.last_response).value
        assert (await refreshed_with(browser, token))["__typename"] == "InvalidRefreshToken"

    @pytest.mark.parametrize("same_site", ["lax", "none"])
    async def test_same_site_is_a_setting(self, gateway_factory: GatewayFactory, same_site: str) -> None:
        browser: Gateway = await gateway_factory(
            refresh_token_transport="cookie",
            refresh_cookie_samesite=same_site,
            base_url="https://gateway.test",
            headers=XHR,
        )
        payload = await browser.signed_up(ANN)
        cookie = the_cookie(browser.last_response)
        assert cookie.name == SECURE_COOKIE
        assert cookie.attributes == expected_attributes(IDLE_TTL, same_site=same_site)
        await browser.logout(payload["accessToken"])
        assert_cleared(browser.last_response, same_site=same_site)


class TestCookieLifetime:
    async def test_max_age_is_when_the_token_ends_if_unused_capped_by_the_absolute_lifetime(
        self, gateway_factory: GatewayFactory, clock: AdjustableClock
    ) -> None:
        browser: Gateway = await gateway_factory(
            clock=clock,
            refresh_token_transport="cookie",
            base_url="https://gateway.test",
            headers=XHR,
            refresh_token_idle_ttl_seconds=100,
            refresh_token_absolute_ttl_seconds=250,
        )
        await browser.signed_up(ANN)
        assert the_cookie(browser.last_response).attributes["max-age"] == "100"  # idle lifetime

        clock.advance(seconds=90)
        await browser.refresh_from_cookie()
        assert the_cookie(browser.last_response).attributes["max-age"] == "100"  # idle again, from now

        clock.advance(seconds=90)  # 180 s in: idle would end at 280, the session ends at 250
        await browser.refresh_from_cookie()
        assert 68 <= int(the_cookie(browser.last_response).attributes["max-age"]) <= 70

        clock.advance(seconds=60)  # 240 s in
        await browser.refresh_from_cookie()
        assert 8 <= int(the_cookie(browser.last_response).attributes["max-age"]) <= 10

        clock.advance(seconds=11)  # 251 s in: the cookie would be gone, and the session is
        assert (await browser.refresh_from_cookie())["__typename"] == "InvalidRefreshToken"
        assert_cleared(browser.last_response)


class TestASinglePageApp:
    async def test_never_sees_the_refresh_token_yet_stays_signed_in_until_it_signs_out(self, browser: Gateway) -> None:
        requests: list[httpx.Request] = []
        bodies: list[str] = []

        async def keep_request(request: httpx.Request) -> None:
            requests.append(request)

        async def keep_body(response: httpx.Response) -> None:
            await response.aread()
            bodies.append(response.text)

        browser.http.event_hooks = {"request": [keep_request], "response": [keep_body]}

        await browser.register(ANN, firstName="Ann")
        signed_in = await browser.verify(ANN, await browser.last_code(ANN))
        access_tokens = [signed_in["accessToken"]]
        cookies = [delivered(browser.last_response)]
        for _ in range(2):
            refreshed = await browser.refresh_from_cookie()
            assert refreshed["__typename"] == "AuthPayload"
            access_tokens.append(refreshed["accessToken"])
            cookies.append(delivered(browser.last_response))

        assert len(set(access_tokens)) == 3
        me = await browser.me(access_tokens[-1])
        assert me["data"]["me"]["email"] == ANN
        assert me["data"]["me"]["firstName"] == "Ann"

        assert (await browser.logout(access_tokens[-1]))["endedSessions"] == 1
        assert_cleared(browser.last_response)
        refused = await browser.refresh_from_cookie()
        assert refused["__typename"] == "InvalidRefreshToken"

        # the jar sent each cookie to the refresh that follows it, and nothing sent it after logout
        refreshes = [request for request in requests if b"RefreshFromCookie" in request.content]
        assert [request.headers.get("cookie") for request in refreshes] == [
            f"{SECURE_COOKIE}={cookies[0]}",
            f"{SECURE_COOKIE}={cookies[1]}",
            None,
        ]
        assert all(request.headers["x-requested-with"] for request in requests)
        # no response body ever held a refresh token
        assert not [token for token in cookies if any(token in body for body in bodies)]
