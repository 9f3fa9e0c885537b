"""Who may use the refresh cookie: the CSRF header, CORS for the SPA's origins, and their settings.

The cookie here is SameSite=None, the worst case: a browser attaches it to any
site's request, so only the gateway's own checks stand between another site and
the cookie.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from persistence.models import SessionRow, UserRow
from settings import Settings, load_settings
from tests.support.client import LOGIN, PASSWORD, REFRESH_FROM_COOKIE, Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only
from tests.support.settings import JWT_SECRET

SPA = "https://app.example.com"
DEV_SPA = "http://localhost:5173"
EVIL = "https://evil.example"
COOKIE = "__Secure-refresh_token"
XHR = {"X-Requested-With": "XMLHttpRequest"}
ANN = "ann@example.com"
REFRESH = {"query": REFRESH_FROM_COOKIE}
REGISTER_EVE = (
    'mutation { register(input: {email: "eve@example.com", password: "correct horse battery staple"}) { __typename } }'
)
CSRF_REFUSAL = {
    "errors": [
        {
            "message": "Send the X-Requested-With header with every POST: "
            "the refresh cookie is only accepted from scripts of allowed origins.",
            "extensions": {"code": "CSRF_HEADER_MISSING"},
        }
    ]
}


def cors_headers(response: httpx.Response) -> dict[str, str]:
    """The response's Access-Control-* headers; never a wildcard origin, whatever the request."""
    found = {name: value for name, value in response.headers.items() if name.startswith("access-control-")}
    assert found.get("access-control-allow-origin") != "*"
    return found


def assert_refused_before_graphql(response: httpx.Response) -> None:
    """Refused for the missing CSRF header (checked before the content type): nothing ran."""
    assert response.status_code == 403, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "CSRF_HEADER_MISSING"}


def listed(header: str) -> set[str]:
    return {item.strip().lower() for item in header.split(",")}


def cookie_set_by(response: httpx.Response) -> str | None:
    values = [header for header in response.headers.get_list("set-cookie") if header.startswith(COOKIE + "=")]
    return values[0].split(";", 1)[0].split("=", 1)[1] if values else None


async def start(gateway_factory: GatewayFactory, **settings: Any) -> Gateway:
    """A browser of the gateway: https://, keeps cookies, sends no header of its own."""
    values: dict[str, Any] = {
        "refresh_token_transport": "cookie",
        "refresh_cookie_samesite": "none",
        "cors_origins": f"{SPA},{DEV_SPA}",
        # No grace: a refresh that had spent the cookie would make its next use a reuse.
        "refresh_token_reuse_grace_seconds": 0,
        **settings,
    }
    gateway: Gateway = await gateway_factory(base_url="https://gateway.test", **values)
    return gateway


async def signed_up(gateway: Gateway, email: str = ANN) -> dict[str, Any]:
    """A new account signed in from the SPA; the jar holds its refresh cookie."""
    await gateway.register(email, headers=XHR)
    payload = await gateway.verify(email, await gateway.last_code(email), headers=XHR)
    assert payload["__typename"] == "AuthPayload", payload
    assert gateway.http.cookies.get(COOKIE)
    return payload


async def assert_cookie_still_refreshes(gateway: Gateway) -> None:
    """The cookie in the jar was not spent: (without grace) it still refreshes."""
    payload = await gateway.refresh_from_cookie(headers=XHR)
    assert payload["__typename"] == "AuthPayload", payload


def without_csrf_header(header: str | None) -> dict[str, str]:
    return {} if header is None else {"X-Requested-With": header}


@pytest.fixture
async def browser(gateway_factory: GatewayFactory) -> Gateway:
    return await start(gateway_factory)


@sqlite_only
class TestCsrfHeader:
    @pytest.mark.parametrize("mode", ["cookie", "both"])
    @pytest.mark.parametrize("header", [None, "", "   "])
    async def test_a_post_without_it_is_refused_and_nothing_runs(
        self, gateway_factory: GatewayFactory, mode: str, header: str | None
    ) -> None:
        gateway = await start(gateway_factory, refresh_token_transport=mode)
        response = await gateway.http.post(
            "/graphql", json={"query": REGISTER_EVE}, headers=without_csrf_header(header)
        )
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/json"
        assert response.json() == CSRF_REFUSAL
        assert gateway.mailbox.messages == []
        assert await UserRow.all().count() == 0

    @pytest.mark.parametrize("header", [None, ""])
    async def test_a_refresh_without_it_leaves_the_cookie_unspent(self, browser: Gateway, header: str | None) -> None:
        await signed_up(browser)
        before = browser.http.cookies[COOKIE]
        response = await browser.http.post("/graphql", json=REFRESH, headers=without_csrf_header(header))
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_HEADER_MISSING"
        assert response.headers.get_list("set-cookie") == []
        assert browser.http.cookies[COOKIE] == before
        await assert_cookie_still_refreshes(browser)

    async def test_a_login_without_it_starts_no_session(self, browser: Gateway) -> None:
        await signed_up(browser)
        before = browser.http.cookies[COOKIE]
        login = {"query": LOGIN, "variables": {"input": {"email": ANN, "password": PASSWORD}}}
        response = await browser.http.post("/graphql", json=login)
        assert response.status_code == 403
        assert response.headers.get_list("set-cookie") == []
        assert browser.http.cookies[COOKIE] == before
        assert await SessionRow.all().count() == 1  # the sign-up's
        assert (await browser.login(ANN, headers=XHR))["__typename"] == "AuthPayload"
        assert await SessionRow.all().count() == 2

    async def test_any_value_will_do(self, browser: Gateway) -> None:
        await signed_up(browser)
        assert (await browser.refresh_from_cookie(headers={"X-Requested-With": "1"}))["__typename"] == "AuthPayload"

    async def test_body_transport_needs_no_header(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory()  # REFRESH_TOKEN_TRANSPORT=body, the default
        payload = await gateway.signed_up(ANN)  # no X-Requested-With on any request
        assert gateway.last_response is not None
        assert "x-requested-with" not in gateway.last_response.request.headers
        refreshed = await gateway.refresh(payload["refreshToken"])
        assert refreshed["__typename"] == "AuthPayload"
        assert (await gateway.me(refreshed["accessToken"]))["data"]["me"]["email"] == ANN


@sqlite_only
class TestCrossSiteFormPost:
    """What an HTML form on another site can send: the browser attaches the cookie, yet nothing runs."""

    @pytest.mark.parametrize(
        "form",
        [
            pytest.param({"data": {"query": REFRESH_FROM_COOKIE}}, id="application/x-www-form-urlencoded"),
            pytest.param({"files": {"query": (None, REFRESH_FROM_COOKIE)}}, id="multipart/form-data"),
            pytest.param({"content": json.dumps(REFRESH), "headers": {"content-type": "text/plain"}}, id="text/plain"),
        ],
    )
    async def test_is_refused_and_the_cookie_stays_valid(self, browser: Gateway, form: dict[str, Any]) -> None:
        await signed_up(browser)
        before = browser.http.cookies[COOKIE]
        form = {**form, "headers": {"Origin": EVIL, **form.get("headers", {})}}
        response = await browser.http.post("/graphql", **form)
        assert "cookie" in response.request.headers  # the browser did send the cookie
        assert_refused_before_graphql(response)
        assert response.headers.get_list("set-cookie") == []
        assert "access-control-allow-origin" not in cors_headers(response)
        assert browser.http.cookies[COOKIE] == before
        await assert_cookie_still_refreshes(browser)

    async def test_the_header_alone_does_not_let_a_form_encoding_in(self, browser: Gateway) -> None:
        await signed_up(browser)
        response = await browser.http.post(
            "/graphql", content=json.dumps(REFRESH), headers={"content-type": "text/plain", **XHR}
        )
        assert response.status_code == 415
        assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
        await assert_cookie_still_refreshes(browser)

    async def test_json_from_another_origin_without_the_header_is_refused(self, browser: Gateway) -> None:
        # Another origin's script can send JSON only after a preflight, which it fails; should
        # such a request get here anyway (a browser bug, a plugin), the missing header stops it.
        await signed_up(browser)
        response = await browser.http.post("/graphql", json=REFRESH, headers={"Origin": EVIL})
        assert response.status_code == 403
        assert response.json() == CSRF_REFUSAL
        assert "access-control-allow-origin" not in cors_headers(response)
        await assert_cookie_still_refreshes(browser)


@sqlite_only
class TestCrossSiteGet:
    async def test_a_link_to_a_mutation_runs_nothing(self, browser: Gateway) -> None:
        # GET needs no CSRF header (development serves GraphiQL and queries over GET), and a
        # top-level navigation carries a SameSite=Lax cookie: so GET must never run a mutation.
        await signed_up(browser)
        response = await browser.http.get(
            "/graphql", params={"query": REFRESH_FROM_COOKIE}, headers={"Origin": EVIL, "Accept": "application/json"}
        )
        assert "cookie" in response.request.headers
        assert response.status_code == 400
        assert "data" not in response.json()
        assert response.headers.get_list("set-cookie") == []
        await assert_cookie_still_refreshes(browser)


@sqlite_only
class TestCorsForTheSpa:
    @pytest.mark.parametrize("origin", [SPA, DEV_SPA])
    async def test_the_spas_request_is_answered_with_its_origin_and_credentials(
        self, browser: Gateway, origin: str
    ) -> None:
        await signed_up(browser)
        before = browser.http.cookies[COOKIE]
        response = await browser.http.post("/graphql", json=REFRESH, headers={"Origin": origin, **XHR})
        assert response.status_code == 200
        assert response.json()["data"]["refreshToken"]["__typename"] == "AuthPayload"
        assert cookie_set_by(response) not in (None, before)
        cors = cors_headers(response)
        assert cors["access-control-allow-origin"] == origin
        assert cors["access-control-allow-credentials"] == "true"
        assert "x-request-id" in listed(cors["access-control-expose-headers"])
        assert "origin" in listed(response.headers["vary"])

    @pytest.mark.parametrize("origin", [SPA, DEV_SPA])
    async def test_a_preflight_from_an_allowed_origin_is_allowed(self, browser: Gateway, origin: str) -> None:
        response = await browser.http.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, x-requested-with, x-request-id",
            },
        )
        assert response.status_code == 200
        cors = cors_headers(response)
        assert cors["access-control-allow-origin"] == origin
        assert cors["access-control-allow-credentials"] == "true"
        assert cors["access-control-max-age"] == "600"
        assert "post" in listed(cors["access-control-allow-methods"])
        assert {"authorization", "content-type", "x-requested-with", "x-request-id"} <= listed(
            cors["access-control-allow-headers"]
        )
        assert "origin" in listed(response.headers["vary"])

    @pytest.mark.parametrize(
        "origin",
        [
            EVIL,
            "null",
            "https://app.example.com.evil.example",
            "http://app.example.com",
            "https://app.example.com:8443",
        ],
    )
    async def test_a_preflight_from_another_origin_is_refused(self, browser: Gateway, origin: str) -> None:
        response = await browser.http.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-requested-with",
            },
        )
        assert response.status_code == 400
        assert "access-control-allow-origin" not in cors_headers(response)

    @pytest.mark.parametrize(
        ("method", "request_headers"),
        [("POST", "content-type, x-requested-with, x-evil"), ("PUT", "content-type"), ("DELETE", "content-type")],
    )
    async def test_a_preflight_for_what_the_spa_never_sends_is_refused(
        self, browser: Gateway, method: str, request_headers: str
    ) -> None:
        response = await browser.http.options(
            "/graphql",
            headers={
                "Origin": SPA,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": request_headers,
            },
        )
        assert response.status_code == 400
        cors_headers(response)

    async def test_another_origins_request_is_not_allowed_to_read_the_answer(self, browser: Gateway) -> None:
        # A browser would have stopped at the preflight; a client that skips it gets an answer,
        # but without Access-Control-Allow-Origin no browser lets another origin's script read it.
        response = await browser.http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": EVIL, **XHR}
        )
        assert response.status_code == 200
        assert "access-control-allow-origin" not in cors_headers(response)

    async def test_max_age_is_a_setting(self, gateway_factory: GatewayFactory) -> None:
        gateway = await start(gateway_factory, cors_max_age_seconds=120)
        response = await gateway.http.options(
            "/graphql", headers={"Origin": SPA, "Access-Control-Request-Method": "POST"}
        )
        assert response.status_code == 200
        assert cors_headers(response)["access-control-max-age"] == "120"

    async def test_get_is_allowed_in_development_only(self, gateway_factory: GatewayFactory) -> None:
        preflight = {"Origin": SPA, "Access-Control-Request-Method": "GET"}
        development = await start(gateway_factory)
        assert (await development.http.options("/graphql", headers=preflight)).status_code == 200
        production = await start(gateway_factory, app_env="production")
        response = await production.http.options("/graphql", headers=preflight)
        assert response.status_code == 400
        assert listed(cors_headers(response)["access-control-allow-methods"]) == {"post"}

    async def test_without_cors_origins_no_cors_headers_at_all(self, gateway_factory: GatewayFactory) -> None:
        gateway = await start(gateway_factory, cors_origins="")
        await signed_up(gateway)
        preflight = await gateway.http.options(
            "/graphql",
            headers={
                "Origin": SPA,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 405
        assert cors_headers(preflight) == {}
        response = await gateway.http.post("/graphql", json=REFRESH, headers={"Origin": SPA, **XHR})
        assert response.status_code == 200
        assert response.json()["data"]["refreshToken"]["__typename"] == "AuthPayload"
        assert cors_headers(response) == {}


class TestSettings:
    """Start-up refuses what would open the cookie to other sites, naming the variable and the value."""

    @pytest.fixture
    def environment(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
        monkeypatch.chdir(tmp_path)  # no .env
        for name in Settings.model_fields:  # only what each test sets
            monkeypatch.delenv(name.upper(), raising=False)
        return monkeypatch

    @pytest.mark.parametrize(
        ("env", "named"),
        [
            ({"CORS_ORIGINS": "*"}, ["CORS_ORIGINS", "'*'"]),
            ({"CORS_ORIGINS": "https://app.example.com/"}, ["CORS_ORIGINS", "'https://app.example.com/'"]),
            ({"CORS_ORIGINS": "https://app.example.com/path"}, ["CORS_ORIGINS", "'https://app.example.com/path'"]),
            ({"CORS_ORIGINS": f"{SPA}, *"}, ["CORS_ORIGINS", "'*'"]),
            ({"CORS_ORIGINS": "app.example.com"}, ["CORS_ORIGINS", "'app.example.com'"]),
            ({"CORS_ORIGINS": "https://app.example.com?x=1"}, ["CORS_ORIGINS", "'https://app.example.com?x=1'"]),
            (
                {"REFRESH_COOKIE_SAMESITE": "none", "REFRESH_COOKIE_SECURE": "false"},
                ["REFRESH_COOKIE_SAMESITE=none", "REFRESH_COOKIE_SECURE=true"],
            ),
            (
                {
                    "APP_ENV": "production",
                    "JWT_SECRET": JWT_SECRET,
                    "EMAIL_BACKEND": "smtp",
                    "REFRESH_COOKIE_SECURE": "false",
                },
                ["REFRESH_COOKIE_SECURE=false", "production"],
            ),
            ({"REFRESH_TOKEN_TRANSPORT": "header"}, ["REFRESH_TOKEN_TRANSPORT"]),
            ({"REFRESH_COOKIE_SAMESITE": "sometimes"}, ["REFRESH_COOKIE_SAMESITE"]),
        ],
    )
    def test_a_bad_value_stops_start_up_with_a_message_naming_it(
        self,
        environment: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        env: dict[str, str],
        named: list[str],
    ) -> None:
        for name, value in env.items():
            environment.setenv(name, value)
        with pytest.raises(SystemExit) as stopped:
            load_settings()
        assert stopped.value.code == 2
        message = capsys.readouterr().err
        for part in named:
            assert part in message

    def test_a_comma_separated_list_of_origins_is_accepted(self, environment: pytest.MonkeyPatch) -> None:
        environment.setenv("CORS_ORIGINS", " https://App.Example.com, http://localhost:5173 ,,")
        assert load_settings().cors_origins == ["https://app.example.com", "http://localhost:5173"]

    def test_the_scheme_of_an_origin_is_case_insensitive_too(self, environment: pytest.MonkeyPatch) -> None:
        environment.setenv("CORS_ORIGINS", "HTTPS://app.example.com")
        assert load_settings().cors_origins == ["https://app.example.com"]

    def test_production_accepts_a_secure_cookie_for_any_same_site(self) -> None:
        for same_site in ("strict", "lax", "none"):
            settings = Settings(
                _env_file=None,
                app_env="production",
                jwt_secret=JWT_SECRET,
                jwt_algorithm="HS256",  # production's asymmetric default wants a key, beside the point here
                email_backend="smtp",
                refresh_token_transport="cookie",
                refresh_cookie_samesite=same_site,
                cors_origins=SPA,
            )
            assert settings.refresh_cookie_secure is True
            assert settings.cors_origins == [SPA]

    def test_a_cors_max_age_over_a_day_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="cors_max_age_seconds"):
            Settings(_env_file=None, cors_max_age_seconds=86401)
