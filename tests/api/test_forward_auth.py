"""GET /auth/forward: the question a reverse proxy puts to the gateway for each request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyotp
import pytest

from tests.support.client import PASSWORD
from tests.support.clock import AdjustableClock

if TYPE_CHECKING:
    import httpx

    from tests.support.client import Gateway, GatewayFactory


async def ask(gateway: Gateway, headers: dict[str, str] | None = None, method: str = "GET") -> httpx.Response:
    return await gateway.http.request(method, "/auth/forward", headers=headers or {})


def bearer(payload: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {payload['accessToken']}"}


def assert_refused(response: httpx.Response, *, invalid_token: bool) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert ('error="invalid_token"' in response.headers["www-authenticate"]) is invalid_token
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert not any(name.startswith("x-auth-") for name in response.headers)


async def test_a_live_access_token_passes_with_the_callers_identity(gateway: Gateway) -> None:
    payload = await gateway.signed_up("ann@example.com")
    [session] = await gateway.sessions(payload["accessToken"])

    response = await ask(gateway, bearer(payload))

    assert response.status_code == 200
    assert response.headers["x-auth-user-id"] == payload["user"]["id"]
    assert response.headers["x-auth-email"] == "ann@example.com"
    assert response.headers["x-auth-session-id"] == session["id"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_any_method_is_answered(gateway: Gateway, method: str) -> None:
    """Traefik and Caddy may keep the original request's method."""
    payload = await gateway.signed_up("ann@example.com")
    response = await ask(gateway, bearer(payload), method)
    assert response.status_code == 200
    assert response.headers["x-auth-user-id"] == payload["user"]["id"]


async def test_no_token_is_refused(gateway: Gateway) -> None:
    assert_refused(await ask(gateway), invalid_token=False)


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Basic YW5uOnBhc3N3b3Jk", "Bearer not.a.jwt", "Token abc", "bearer x.y.z"]
)
async def test_a_malformed_header_or_token_is_refused(gateway: Gateway, header: str) -> None:
    assert_refused(await ask(gateway, {"Authorization": header}), invalid_token=True)


async def test_a_refresh_token_is_not_an_access_token(gateway: Gateway) -> None:
    payload = await gateway.signed_up("ann@example.com")
    assert_refused(await ask(gateway, {"Authorization": f"Bearer {payload['refreshToken']}"}), invalid_token=True)


async def test_an_ended_session_is_refused_at_once(gateway: Gateway) -> None:
    payload = await gateway.signed_up("ann@example.com")
    assert (await ask(gateway, bearer(payload))).status_code == 200

    await gateway.logout(payload["accessToken"])

    assert_refused(await ask(gateway, bearer(payload)), invalid_token=True)


async def test_a_deleted_account_is_refused(gateway: Gateway) -> None:
    payload = await gateway.signed_up("ann@example.com")
    await gateway.delete_account(payload["accessToken"], PASSWORD)
    assert_refused(await ask(gateway, bearer(payload)), invalid_token=True)


async def test_an_expired_access_token_is_refused(gateway_factory: GatewayFactory) -> None:
    from tests.support.clock import AdjustableClock

    clock = AdjustableClock()
    gateway: Gateway = await gateway_factory(clock=clock, access_token_ttl_seconds=60)
    payload = await gateway.signed_up("ann@example.com")
    clock.advance(seconds=61)
    assert_refused(await ask(gateway, bearer(payload)), invalid_token=True)


async def test_a_non_ascii_address_is_percent_encoded(gateway: Gateway) -> None:
    payload = await gateway.signed_up("józef@example.com")
    response = await ask(gateway, bearer(payload))
    assert response.status_code == 200
    assert response.headers["x-auth-email"] == "j%C3%B3zef@example.com"


async def test_the_refresh_cookie_alone_does_not_pass(gateway_factory: GatewayFactory) -> None:
    gateway: Gateway = await gateway_factory(
        refresh_token_transport="cookie", base_url="https://gateway.test", headers={"X-Requested-With": "tests"}
    )
    await gateway.signed_up("ann@example.com")
    assert gateway.http.cookies.get("__Secure-refresh_token")
    response = await gateway.http.get("/auth/forward", headers={"X-Requested-With": "tests"})
    assert_refused(response, invalid_token=False)


async def test_it_is_served_in_production(gateway_factory: GatewayFactory) -> None:
    gateway: Gateway = await gateway_factory(app_env="production")
    payload = await gateway.signed_up("ann@example.com")
    assert (await ask(gateway, bearer(payload))).status_code == 200


class TestStepUp:
    """How the session signed in (X-Auth-AAL) and what a route demands of it (RFC 9470)."""

    @pytest.fixture
    async def timed(self, gateway_factory: GatewayFactory) -> tuple[Gateway, AdjustableClock]:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        return gateway, clock

    async def test_a_password_session_is_aal1_and_refused_where_a_second_factor_is_demanded(
        self, timed: tuple[Gateway, AdjustableClock]
    ) -> None:
        gateway, _ = timed
        payload = await gateway.signed_up("ann@example.com")
        passed = await ask(gateway, bearer(payload))
        assert (passed.headers["x-auth-aal"], passed.headers["x-auth-methods"]) == ("aal1", "pwd")

        refused = await ask(gateway, {**bearer(payload), "X-Auth-Require-AAL": "aal2"})
        assert refused.status_code == 401
        challenge = refused.headers["www-authenticate"]
        assert 'error="insufficient_user_authentication"' in challenge
        assert 'acr_values="aal2"' in challenge
        assert not any(name.startswith("x-auth-") for name in refused.headers)

    async def test_a_session_with_a_second_factor_is_aal2_and_passes(
        self, timed: tuple[Gateway, AdjustableClock]
    ) -> None:
        gateway, clock = timed
        token = (await gateway.signed_up("ann@example.com"))["accessToken"]
        secret = (await gateway.begin_totp_enrolment(token))["secret"]
        codes = (await gateway.confirm_totp_enrolment(token, pyotp.TOTP(secret).at(clock.now())))["codes"]
        ticket = (await gateway.login("ann@example.com"))["ticket"]
        payload = await gateway.complete_sign_in(ticket, "RECOVERY_CODE", codes[0])

        passed = await ask(gateway, {**bearer(payload), "X-Auth-Require-AAL": "aal2"})
        assert passed.status_code == 200
        assert (passed.headers["x-auth-aal"], passed.headers["x-auth-methods"]) == ("aal2", "pwd otp mfa")

    async def test_a_route_may_demand_a_recent_sign_in(self, timed: tuple[Gateway, AdjustableClock]) -> None:
        gateway, clock = timed
        payload = await gateway.signed_up("ann@example.com")
        assert (await ask(gateway, {**bearer(payload), "X-Auth-Max-Age": "300"})).status_code == 200
        clock.advance(seconds=301)
        refreshed = await gateway.refresh(payload["refreshToken"])  # a new token, the same old sign-in
        refused = await ask(gateway, {**bearer(refreshed), "X-Auth-Max-Age": "300"})
        assert refused.status_code == 401
        assert "max_age=300" in refused.headers["www-authenticate"]
        assert 'error="insufficient_user_authentication"' in refused.headers["www-authenticate"]

    @pytest.mark.parametrize(
        "demand", [{"X-Auth-Require-AAL": "aal3"}, {"X-Auth-Max-Age": "-1"}, {"X-Auth-Max-Age": "five minutes"}]
    )
    async def test_a_demand_the_gateway_does_not_understand_is_a_400_naming_it(
        self, gateway: Gateway, demand: dict[str, str]
    ) -> None:
        payload = await gateway.signed_up("ann@example.com")
        response = await ask(gateway, {**bearer(payload), **demand})
        assert response.status_code == 400
        [name] = demand
        assert name in response.json()["errors"][0]["message"]
