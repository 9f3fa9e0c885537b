"""changePassword, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.client import CHANGE_PASSWORD, PASSWORD, Gateway, GatewayFactory

ADDRESS = "changer@example.com"
NEW_PASSWORD = "a brand new passphrase 42"


def assert_unauthenticated(body: Any) -> None:
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


async def assert_signed_out(gateway: Gateway, payload: dict[str, Any]) -> None:
    """Neither token of the session that ``payload`` (an AuthPayload) started works any more."""
    assert (await gateway.refresh(payload["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    body = await gateway.me(payload["accessToken"])
    assert body["data"] == {"me": None}
    assert_unauthenticated(body)


@pytest.fixture
async def verified_account(gateway: Gateway) -> dict[str, Any]:
    """The AuthPayload of a verified account at ADDRESS with PASSWORD: the session that changes the password."""
    return await gateway.signed_up(ADDRESS)


class TestChangePassword:
    async def test_wrong_current_password(self, gateway: Gateway, verified_account: dict[str, Any]) -> None:
        result = await gateway.change_password(verified_account["accessToken"], "not my password", NEW_PASSWORD)
        assert result["__typename"] == "WrongPassword"
        assert result["code"]
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "AuthPayload"
        assert (await gateway.login(ADDRESS, NEW_PASSWORD))["__typename"] == "InvalidCredentials"

    @pytest.mark.parametrize("weak", ["password1", "short", ADDRESS, "x" * 129])
    async def test_weak_new_password_names_new_password(
        self, gateway: Gateway, verified_account: dict[str, Any], weak: str
    ) -> None:
        result = await gateway.change_password(verified_account["accessToken"], PASSWORD, weak)
        assert result["__typename"] == "InvalidInput"
        assert [field["field"] for field in result["fields"]] == ["newPassword"]
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "AuthPayload"

    async def test_ends_the_other_sessions_and_keeps_this_one(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        phone = await gateway.login(ADDRESS)
        laptop = await gateway.login(ADDRESS)

        result = await gateway.change_password(verified_account["accessToken"], PASSWORD, NEW_PASSWORD)
        assert result == {"__typename": "PasswordChanged", "endedOtherSessions": 2}

        me = (await gateway.me(verified_account["accessToken"]))["data"]["me"]
        assert me["email"] == ADDRESS
        assert (await gateway.refresh(verified_account["refreshToken"]))["__typename"] == "AuthPayload"
        await assert_signed_out(gateway, phone)
        await assert_signed_out(gateway, laptop)
        # an ended session cannot change the password back either
        body = await gateway.post(
            CHANGE_PASSWORD,
            {"input": {"currentPassword": NEW_PASSWORD, "newPassword": "the thief's passphrase"}},
            token=phone["accessToken"],
        )
        assert_unauthenticated(body)

    async def test_with_no_other_session_ends_none(self, gateway: Gateway, verified_account: dict[str, Any]) -> None:
        result = await gateway.change_password(verified_account["accessToken"], PASSWORD, NEW_PASSWORD)
        assert result == {"__typename": "PasswordChanged", "endedOtherSessions": 0}

    async def test_new_password_signs_in_and_the_old_one_does_not(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        await gateway.change_password(verified_account["accessToken"], PASSWORD, NEW_PASSWORD)
        assert (await gateway.login(ADDRESS, NEW_PASSWORD))["__typename"] == "AuthPayload"
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "InvalidCredentials"

    async def test_a_password_changed_notice_arrives(self, gateway: Gateway, verified_account: dict[str, Any]) -> None:
        await gateway.change_password(verified_account["accessToken"], PASSWORD, NEW_PASSWORD)
        await gateway.mail_settled()
        mails = gateway.mailbox.bodies_to(ADDRESS)
        assert len(mails) == 2  # the sign-up code, then the notice
        notice = mails[-1]
        assert "password" in notice
        assert "changed" in notice
        assert "changed" in gateway.mailbox.html_bodies_to(ADDRESS)[-1]
        assert "changed" in str(gateway.mailbox.messages[-1]["Subject"])
        assert not re.search(r"\b\d{6}\b", notice)
        assert NEW_PASSWORD not in notice

    async def test_nothing_is_mailed_when_nothing_changes(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        await gateway.change_password(verified_account["accessToken"], "not my password", NEW_PASSWORD)
        await gateway.change_password(verified_account["accessToken"], PASSWORD, "password1")
        await gateway.mail_settled()
        assert len(gateway.mailbox.bodies_to(ADDRESS)) == 1  # the sign-up code only

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        body = await gateway.post(
            CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}
        )
        assert body["data"] is None
        assert_unauthenticated(body)


class TestChangePasswordLockout:
    async def test_wrong_current_passwords_count_toward_the_sign_in_lockout(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(lockout_free_failures=2)
        token = (await gateway.signed_up(ADDRESS))["accessToken"]
        for guess in ("guess one", "guess two"):
            assert (await gateway.change_password(token, guess, NEW_PASSWORD))["__typename"] == "WrongPassword"

        # even the right password must wait now, here and at the sign-in form
        refused = await gateway.change_password(token, PASSWORD, NEW_PASSWORD)
        assert refused["__typename"] == "RateLimited"
        assert refused["retryAfterSeconds"] >= 1
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "RateLimited"
