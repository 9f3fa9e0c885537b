"""The sessions query, logout, logoutAll and revokeSession over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.support.client import LOGOUT, LOGOUT_ALL, REVOKE_SESSION, SESSIONS, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock

OWNER = "owner@example.com"


def on(device: str) -> dict[str, str]:
    """The headers of a request from the app ``device``."""
    return {"User-Agent": device}


def session_id_of(access_token: str) -> str:
    """The session an access token was issued to (its ``sid`` claim)."""
    payload = access_token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    session_id: str = claims["sid"]
    return session_id


def assert_unauthenticated(body: Any, field: str) -> None:
    assert body["data"] is None or body["data"] == {field: None}, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    assert body["errors"][0]["path"] == [field]


async def assert_signed_out(gateway: Gateway, payload: dict[str, Any]) -> None:
    """Neither token of ``payload`` (an AuthPayload) works any more."""
    assert (await gateway.refresh(payload["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    assert_unauthenticated(await gateway.me(payload["accessToken"]), "me")


async def assert_signed_in(gateway: Gateway, payload: dict[str, Any]) -> dict[str, Any]:
    """Both tokens of ``payload`` still work; returns the refreshed pair."""
    me = await gateway.me(payload["accessToken"])
    assert me["data"]["me"]["id"] == payload["user"]["id"], me
    refreshed = await gateway.refresh(payload["refreshToken"])
    assert refreshed["__typename"] == "AuthPayload", refreshed
    return refreshed


class TestSessions:
    async def test_lists_each_live_session_and_marks_the_callers(self, gateway: Gateway) -> None:
        signed_up = await gateway.signed_up(OWNER)
        phone = await gateway.login(OWNER, headers=on("Phone/1.0"))
        laptop = await gateway.login(OWNER, headers=on("Laptop/2.0 (X11)"))

        listed = await gateway.sessions(laptop["accessToken"])

        assert len(listed) == 3
        assert {s["id"] for s in listed} == {session_id_of(p["accessToken"]) for p in (signed_up, phone, laptop)}
        assert {s["userAgent"] for s in listed} >= {"Phone/1.0", "Laptop/2.0 (X11)"}
        assert {s["clientIp"] for s in listed} == {"127.0.0.1"}
        for session in listed:
            created_at = datetime.fromisoformat(session["createdAt"])
            assert datetime.fromisoformat(session["lastUsedAt"]) >= created_at
            assert datetime.fromisoformat(session["expiresAt"]) > created_at
        [current] = [s for s in listed if s["current"]]
        assert current["id"] == session_id_of(laptop["accessToken"])
        assert current["userAgent"] == "Laptop/2.0 (X11)"
        # most recently used first
        last_used = [datetime.fromisoformat(s["lastUsedAt"]) for s in listed]
        assert last_used == sorted(last_used, reverse=True)

    async def test_current_is_whoever_asks(self, gateway: Gateway) -> None:
        await gateway.signed_up(OWNER)
        phone = await gateway.login(OWNER, headers=on("Phone/1.0"))
        [current] = [s for s in await gateway.sessions(phone["accessToken"]) if s["current"]]
        assert current["id"] == session_id_of(phone["accessToken"])
        assert current["userAgent"] == "Phone/1.0"

    async def test_another_accounts_sessions_are_not_listed(self, gateway: Gateway) -> None:
        mine = await gateway.signed_up(OWNER)
        await gateway.signed_up("neighbour@example.com")
        await gateway.login("neighbour@example.com")
        listed = await gateway.sessions(mine["accessToken"])
        assert [s["id"] for s in listed] == [session_id_of(mine["accessToken"])]

    async def test_a_refresh_updates_last_used_and_the_device(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        payload = await gateway.signed_up(OWNER)
        [before] = await gateway.sessions(payload["accessToken"])

        clock.advance(minutes=5)
        rotated = await gateway.refresh(payload["refreshToken"], headers=on("Tablet/3.0"))
        [after] = await gateway.sessions(rotated["accessToken"])

        assert after["id"] == before["id"]
        assert after["createdAt"] == before["createdAt"]
        moved = datetime.fromisoformat(after["lastUsedAt"]) - datetime.fromisoformat(before["lastUsedAt"])
        assert timedelta(minutes=5) <= moved < timedelta(minutes=6)
        assert after["userAgent"] == "Tablet/3.0"
        assert after["current"] is True

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        assert_unauthenticated(await gateway.post(SESSIONS), "sessions")

    async def test_an_ended_sessions_token_is_unauthenticated(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(OWNER)
        await gateway.logout(payload["accessToken"])
        assert_unauthenticated(await gateway.post(SESSIONS, token=payload["accessToken"]), "sessions")


class TestLogout:
    async def test_ends_this_session_at_once_and_no_other(self, gateway: Gateway) -> None:
        phone = await gateway.signed_up(OWNER)
        laptop = await gateway.login(OWNER)

        result = await gateway.logout(phone["accessToken"])

        assert result == {"__typename": "SignedOut", "endedSessions": 1}
        await assert_signed_out(gateway, phone)  # the access token is refused now, not at its expiry
        refreshed = await assert_signed_in(gateway, laptop)
        listed = await gateway.sessions(refreshed["accessToken"])
        assert [s["id"] for s in listed] == [session_id_of(laptop["accessToken"])]

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        assert_unauthenticated(await gateway.post(LOGOUT), "logout")

    async def test_twice_is_unauthenticated(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(OWNER)
        await gateway.logout(payload["accessToken"])
        assert_unauthenticated(await gateway.post(LOGOUT, token=payload["accessToken"]), "logout")

    async def test_the_account_can_sign_in_again(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(OWNER)
        await gateway.logout(payload["accessToken"])
        await assert_signed_in(gateway, await gateway.login(OWNER))


class TestLogoutAll:
    async def test_ends_every_session_of_the_account(self, gateway: Gateway) -> None:
        sessions = [await gateway.signed_up(OWNER), await gateway.login(OWNER), await gateway.login(OWNER)]
        neighbour = await gateway.signed_up("neighbour@example.com")

        result = await gateway.logout_all(sessions[1]["accessToken"])

        assert result == {"__typename": "SignedOut", "endedSessions": 3}
        for payload in sessions:
            await assert_signed_out(gateway, payload)
        await assert_signed_in(gateway, neighbour)
        fresh = await gateway.login(OWNER)
        assert [s["id"] for s in await gateway.sessions(fresh["accessToken"])] == [session_id_of(fresh["accessToken"])]

    async def test_counts_only_the_sessions_it_ends(self, gateway: Gateway) -> None:
        first = await gateway.signed_up(OWNER)
        second = await gateway.login(OWNER)
        await gateway.logout(first["accessToken"])
        assert (await gateway.logout_all(second["accessToken"]))["endedSessions"] == 1

    async def test_does_not_count_sessions_that_had_already_expired(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        forgotten = await gateway.signed_up(OWNER)
        clock.advance(days=15)  # idle beyond the 14-day idle lifetime: that session is over
        assert (await gateway.refresh(forgotten["refreshToken"]))["__typename"] == "InvalidRefreshToken"
        current = await gateway.login(OWNER)
        assert len(await gateway.sessions(current["accessToken"])) == 1

        assert (await gateway.logout_all(current["accessToken"]))["endedSessions"] == 1

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        assert_unauthenticated(await gateway.post(LOGOUT_ALL), "logoutAll")


class TestRevokeSession:
    async def test_ends_that_session_only(self, gateway: Gateway) -> None:
        laptop = await gateway.signed_up(OWNER)
        lost_phone = await gateway.login(OWNER, headers=on("Phone/1.0"))
        lost_phone_id = session_id_of(lost_phone["accessToken"])

        result = await gateway.revoke_session(laptop["accessToken"], lost_phone_id)

        assert result == {"__typename": "SessionRevoked", "id": lost_phone_id}
        await assert_signed_out(gateway, lost_phone)
        refreshed = await assert_signed_in(gateway, laptop)
        listed = await gateway.sessions(refreshed["accessToken"])
        assert [s["id"] for s in listed] == [session_id_of(laptop["accessToken"])]

    async def test_the_callers_own_session_can_be_revoked(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(OWNER)
        own_id = session_id_of(payload["accessToken"])
        assert (await gateway.revoke_session(payload["accessToken"], own_id))["id"] == own_id
        await assert_signed_out(gateway, payload)

    async def test_ids_that_are_not_a_live_session_of_the_account(self, gateway: Gateway) -> None:
        mine = await gateway.signed_up(OWNER)
        ended = await gateway.login(OWNER)
        await gateway.logout(ended["accessToken"])
        neighbour = await gateway.signed_up("neighbour@example.com")

        for session_id in (
            str(uuid.uuid4()),
            "not-a-session-id",
            "",
            session_id_of(ended["accessToken"]),
            session_id_of(neighbour["accessToken"]),
        ):
            result = await gateway.revoke_session(mine["accessToken"], session_id)
            assert result["__typename"] == "SessionNotFound", (session_id, result)
            assert result["code"] == "SESSION_NOT_FOUND"
        await assert_signed_in(gateway, neighbour)
        await assert_signed_in(gateway, mine)

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(OWNER)
        body = await gateway.post(REVOKE_SESSION, {"id": session_id_of(payload["accessToken"])})
        assert_unauthenticated(body, "revokeSession")
        await assert_signed_in(gateway, payload)
