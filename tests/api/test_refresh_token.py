from __future__ import annotations

import asyncio
import json
from typing import Any

from persistence.models import RefreshTokenRow, SessionRow
from tests.support.client import REFRESH_TOKEN, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock


class TestRefreshToken:
    async def test_rotation_spends_the_old_token(self, gateway: Gateway) -> None:
        first = await gateway.signed_up("r@example.com")
        second = await gateway.refresh(first["refreshToken"])
        third = await gateway.refresh(second["refreshToken"])
        assert third["__typename"] == "AuthPayload"
        assert len({first["refreshToken"], second["refreshToken"], third["refreshToken"]}) == 3

    async def test_repeat_within_grace_window_gets_the_same_successor(self, gateway: Gateway) -> None:
        first = await gateway.signed_up("tabs@example.com")
        tab_a = await gateway.refresh(first["refreshToken"])
        tab_b = await gateway.refresh(first["refreshToken"])
        assert tab_a["refreshToken"] == tab_b["refreshToken"]
        assert (await gateway.refresh(tab_b["refreshToken"]))["__typename"] == "AuthPayload"

    async def test_reuse_after_grace_window_revokes_the_family(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        first = await gateway.signed_up("stolen@example.com")
        successor = await gateway.refresh(first["refreshToken"])
        clock.advance(seconds=11)
        assert (await gateway.refresh(first["refreshToken"]))["__typename"] == "InvalidRefreshToken"
        # the legitimate holder is signed out too: the family is dead
        assert (await gateway.refresh(successor["refreshToken"]))["__typename"] == "InvalidRefreshToken"
        # other sessions of the account are untouched
        other = await gateway.login("stolen@example.com")
        assert (await gateway.refresh(other["refreshToken"]))["__typename"] == "AuthPayload"

    async def test_idle_session_expires(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        first = await gateway.signed_up("idle@example.com")
        clock.advance(days=14, seconds=1)
        assert (await gateway.refresh(first["refreshToken"]))["__typename"] == "InvalidRefreshToken"

    async def test_session_ends_after_absolute_lifetime_even_when_used(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        token = (await gateway.signed_up("daily@example.com"))["refreshToken"]
        for _ in range(3):
            clock.advance(days=9)
            result = await gateway.refresh(token)
            assert result["__typename"] == "AuthPayload"
            token = result["refreshToken"]
        clock.advance(days=4)  # day 31: never idle for long, but past the absolute lifetime
        assert (await gateway.refresh(token))["__typename"] == "InvalidRefreshToken"

    async def test_access_token_is_not_a_refresh_token(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("kinds@example.com")
        assert (await gateway.refresh(payload["accessToken"]))["__typename"] == "InvalidRefreshToken"

    async def test_unknown_token(self, gateway: Gateway) -> None:
        assert (await gateway.refresh("x" * 43))["__typename"] == "InvalidRefreshToken"
        assert (await gateway.refresh(""))["__typename"] == "InvalidRefreshToken"

    async def test_a_token_that_is_not_text_is_just_invalid(self, gateway: Gateway) -> None:
        # JSON may carry a lone surrogate ("\ud800"), which no hash function can encode:
        # it used to answer INTERNAL_SERVER_ERROR.
        body = json.dumps({"query": REFRESH_TOKEN, "variables": {"input": {"refreshToken": "abc\ud800def"}}})
        response = await gateway.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
        assert response.json()["data"]["refreshToken"]["__typename"] == "InvalidRefreshToken", response.text

    async def test_only_hashes_are_stored(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("hashes@example.com")
        rotated = await gateway.refresh(payload["refreshToken"])
        stored = [row.token_hash for row in await RefreshTokenRow.all()]
        seeds = [row.family_seed for row in await SessionRow.all()]
        for token in (payload["refreshToken"], rotated["refreshToken"]):
            assert all(token not in value for value in stored + seeds)


class TestRefreshTokenRace:
    async def test_concurrent_rotations_never_fork_the_family(self, gateway: Gateway) -> None:
        first = await gateway.signed_up("race@example.com")

        async def refresh() -> Any:
            return await gateway.refresh(first["refreshToken"])

        results = await asyncio.gather(*(refresh() for _ in range(20)))
        assert {r["__typename"] for r in results} == {"AuthPayload"}
        assert len({r["refreshToken"] for r in results}) == 1
        session = await SessionRow.get()
        assert session.generation == 1
        assert session.revoked_at is None
        tokens = await RefreshTokenRow.filter(session_id=session.id).order_by("generation")
        assert [token.generation for token in tokens] == [0, 1]  # the first, and one successor
