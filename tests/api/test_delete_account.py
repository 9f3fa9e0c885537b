"""deleteAccount over HTTP, on SQLite and PostgreSQL: what is left of the account afterwards."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from persistence.models import AuditEventRow, OtpChallengeRow, RefreshTokenRow, SessionRow, UserRow
from tests.support.client import DELETE_ACCOUNT, PASSWORD, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock

OWNER = "owner@example.com"
OWNERS_DEVICE = {"User-Agent": "OwnersPhone/1.0"}


def assert_unauthenticated(body: Any, field: str) -> None:
    assert body["data"] is None or body["data"] == {field: None}, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


async def delete_account(
    gateway: Gateway, token: str, password: str = PASSWORD, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """``Gateway.delete_account``, from a device of the caller's choosing."""
    body = await gateway.post(DELETE_ACCOUNT, {"input": {"password": password}}, token=token, headers=headers)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["deleteAccount"]
    return result


async def signed_up_on_device(gateway: Gateway, email: str, headers: dict[str, str]) -> dict[str, Any]:
    """``Gateway.signed_up``, every request from the device of ``headers``."""
    await gateway.register(email, headers=headers)
    payload = await gateway.verify(email, await gateway.last_code(email), headers=headers)
    assert payload["__typename"] == "AuthPayload", payload
    return payload


class TestDeleteAccount:
    async def test_a_wrong_password_deletes_nothing(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(OWNER)

        result = await gateway.delete_account(payload["accessToken"], "not my password")

        assert result["__typename"] == "WrongPassword", result
        assert result["code"] == "WRONG_PASSWORD"
        assert (await gateway.me(payload["accessToken"]))["data"]["me"]["email"] == OWNER
        assert (await gateway.refresh(payload["refreshToken"]))["__typename"] == "AuthPayload"
        assert (await gateway.login(OWNER))["__typename"] == "AuthPayload"
        assert await UserRow.filter(email_key=OWNER).exists()

    async def test_the_right_password_ends_every_way_in(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up(OWNER)
        other_device = await gateway.login(OWNER)

        result = await gateway.delete_account(payload["accessToken"])

        assert result == {"__typename": "AccountDeleted", "id": payload["user"]["id"]}
        for signed_in in (payload, other_device):
            assert_unauthenticated(await gateway.me(signed_in["accessToken"]), "me")
            assert (await gateway.refresh(signed_in["refreshToken"]))["__typename"] == "InvalidRefreshToken"
        assert (await gateway.login(OWNER))["__typename"] == "InvalidCredentials"
        # the token of a deleted account cannot delete again
        body = await gateway.post(DELETE_ACCOUNT, {"input": {"password": PASSWORD}}, token=payload["accessToken"])
        assert_unauthenticated(body, "deleteAccount")

    async def test_no_row_identifies_the_owner_afterwards(self, gateway: Gateway) -> None:
        payload = await signed_up_on_device(gateway, OWNER, OWNERS_DEVICE)
        user_id = UUID(payload["user"]["id"])
        await gateway.login(OWNER, headers=OWNERS_DEVICE)
        await gateway.request_password_reset(OWNER, headers=OWNERS_DEVICE)  # a pending code
        wrong = await delete_account(gateway, payload["accessToken"], "a wrong guess", headers=OWNERS_DEVICE)
        assert wrong["__typename"] == "WrongPassword"
        bystander = await gateway.signed_up("bystander@example.com")
        bystander_id = UUID(bystander["user"]["id"])

        session_ids = await SessionRow.filter(user_id=user_id).values_list("id", flat=True)
        owners_events = await AuditEventRow.filter(user_id=user_id).values_list("id", flat=True)
        # guards: there was something to delete and something to forget
        assert len(session_ids) == 2
        assert await RefreshTokenRow.filter(session_id__in=session_ids).exists()
        assert await OtpChallengeRow.filter(user_id=user_id).exists()
        assert await AuditEventRow.filter(user_agent=OWNERS_DEVICE["User-Agent"]).count() == len(owners_events) >= 5

        deleted = await delete_account(gateway, payload["accessToken"], headers=OWNERS_DEVICE)
        assert deleted["__typename"] == "AccountDeleted"

        assert not await UserRow.filter(id=user_id).exists()
        assert not await UserRow.filter(email_key=OWNER).exists()
        assert not await SessionRow.filter(user_id=user_id).exists()
        assert not await RefreshTokenRow.filter(session_id__in=session_ids).exists()
        assert not await OtpChallengeRow.filter(user_id=user_id).exists()
        # the log keeps that things happened, not to whom, from where or on what
        forgotten = await AuditEventRow.filter(id__in=owners_events).values("user_id", "client_ip", "user_agent")
        assert len(forgotten) == len(owners_events)
        assert all(row == {"user_id": None, "client_ip": None, "user_agent": None} for row in forgotten)
        assert not await AuditEventRow.filter(user_agent=OWNERS_DEVICE["User-Agent"]).exists()
        deletion = await AuditEventRow.get(event="account_deleted")
        assert (deletion.user_id, deletion.client_ip, deletion.user_agent) == (None, None, None)  # type: ignore[attr-defined]  # FK column
        # everyone else's rows are untouched
        assert await UserRow.filter(id=bystander_id).exists()
        bystanders_events = await AuditEventRow.filter(user_id=bystander_id)
        assert bystanders_events
        assert {row.client_ip for row in bystanders_events} == {"127.0.0.1"}
        assert (await gateway.me(bystander["accessToken"]))["data"]["me"]["id"] == str(bystander_id)

    async def test_the_address_can_sign_up_again(self, gateway: Gateway) -> None:
        first = await gateway.signed_up(OWNER)
        assert (await gateway.delete_account(first["accessToken"]))["__typename"] == "AccountDeleted"

        second = await gateway.signed_up(OWNER, "a brand new passphrase")

        assert second["user"]["id"] != first["user"]["id"]
        assert second["user"]["email"] == OWNER
        assert (await gateway.login(OWNER, "a brand new passphrase"))["__typename"] == "AuthPayload"
        assert (await gateway.login(OWNER, PASSWORD))["__typename"] == "InvalidCredentials"

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        await gateway.signed_up(OWNER)
        body = await gateway.post(DELETE_ACCOUNT, {"input": {"password": PASSWORD}})
        assert_unauthenticated(body, "deleteAccount")
        assert (await gateway.login(OWNER))["__typename"] == "AuthPayload"


class TestDeleteAccountLockout:
    async def test_wrong_passwords_count_toward_the_sign_in_lockout(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock, lockout_free_failures=2, lockout_first_delay_seconds=30)
        payload = await gateway.signed_up(OWNER)

        guesses = [await gateway.delete_account(payload["accessToken"], f"guess {n}") for n in range(2)]
        assert [g["__typename"] for g in guesses] == ["WrongPassword"] * 2

        refused = await gateway.delete_account(payload["accessToken"])  # even the right password must wait
        assert refused["__typename"] == "RateLimited", refused
        assert 29 <= refused["retryAfterSeconds"] <= 30
        assert (await gateway.login(OWNER))["__typename"] == "RateLimited"  # one streak for both
        assert (await gateway.me(payload["accessToken"]))["data"]["me"]["email"] == OWNER

        clock.advance(seconds=30)
        assert (await gateway.delete_account(payload["accessToken"]))["__typename"] == "AccountDeleted"
