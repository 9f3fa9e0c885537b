"""GET /auth/forward: the question a reverse proxy puts to the gateway for each request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.support.client import PASSWORD

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
