"""updateProfile, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import UPDATE_PROFILE, Gateway

ADDRESS = "profile@example.com"
BAD_NAMES = {
    "empty": "",
    "only spaces": "   ",
    "129 characters": "x" * 129,
    "a NUL": "Ada\x00Lovelace",
    "a line break": "Ada\nLovelace",
    "an escape sequence": "Ada\x1b[31m",
}


@pytest.fixture
async def access_token(gateway: Gateway) -> str:
    """The access token of a verified account at ADDRESS, with no names yet."""
    payload = await gateway.signed_up(ADDRESS)
    token: str = payload["accessToken"]
    return token


async def names_shown(gateway: Gateway, token: str) -> tuple[str | None, str | None]:
    me = (await gateway.me(token))["data"]["me"]
    return me["firstName"], me["lastName"]


class TestUpdateProfile:
    async def test_sets_both_names(self, gateway: Gateway, access_token: str) -> None:
        result = await gateway.update_profile(access_token, firstName="Ada", lastName="Lovelace")
        assert result["__typename"] == "User"
        assert (result["firstName"], result["lastName"]) == ("Ada", "Lovelace")
        assert result["email"] == ADDRESS
        assert await names_shown(gateway, access_token) == ("Ada", "Lovelace")

    async def test_a_field_left_out_keeps_its_value(self, gateway: Gateway, access_token: str) -> None:
        await gateway.update_profile(access_token, firstName="Ada", lastName="Lovelace")
        result = await gateway.update_profile(access_token, firstName="Augusta")
        assert (result["firstName"], result["lastName"]) == ("Augusta", "Lovelace")
        await gateway.update_profile(access_token)
        assert await names_shown(gateway, access_token) == ("Augusta", "Lovelace")

    async def test_null_clears_a_field(self, gateway: Gateway, access_token: str) -> None:
        await gateway.update_profile(access_token, firstName="Ada", lastName="Lovelace")
        result = await gateway.update_profile(access_token, lastName=None)
        assert (result["firstName"], result["lastName"]) == ("Ada", None)
        assert await names_shown(gateway, access_token) == ("Ada", None)

    async def test_surrounding_spaces_are_trimmed(self, gateway: Gateway, access_token: str) -> None:
        result = await gateway.update_profile(access_token, firstName="  Ada ", lastName="\tLovelace\n")
        assert (result["firstName"], result["lastName"]) == ("Ada", "Lovelace")

    async def test_accepts_128_characters_and_unicode(self, gateway: Gateway, access_token: str) -> None:
        result = await gateway.update_profile(access_token, firstName="x" * 128, lastName="Łukasiewicz-Ōe 李")
        assert result["__typename"] == "User"
        assert await names_shown(gateway, access_token) == ("x" * 128, "Łukasiewicz-Ōe 李")

    @pytest.mark.parametrize("field", ["firstName", "lastName"])
    @pytest.mark.parametrize("bad", BAD_NAMES.values(), ids=BAD_NAMES.keys())
    async def test_a_bad_value_names_its_field_and_changes_nothing(
        self, gateway: Gateway, access_token: str, field: str, bad: str
    ) -> None:
        await gateway.update_profile(access_token, firstName="Ada", lastName="Lovelace")
        result = await gateway.update_profile(access_token, **{field: bad})
        assert result["__typename"] == "InvalidInput"
        assert [error["field"] for error in result["fields"]] == [field]
        assert all(error["message"] for error in result["fields"])
        assert await names_shown(gateway, access_token) == ("Ada", "Lovelace")

    async def test_names_every_bad_field_at_once_and_writes_neither(self, gateway: Gateway, access_token: str) -> None:
        result = await gateway.update_profile(access_token, firstName="", lastName="x" * 129)
        assert result["__typename"] == "InvalidInput"
        assert {error["field"] for error in result["fields"]} == {"firstName", "lastName"}
        one_good = await gateway.update_profile(access_token, firstName="Ada", lastName="x" * 129)
        assert one_good["__typename"] == "InvalidInput"
        assert await names_shown(gateway, access_token) == (None, None)

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        body = await gateway.post(UPDATE_PROFILE, {"input": {"firstName": "Mallory"}})
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]

    async def test_an_ended_session_is_unauthenticated(self, gateway: Gateway, access_token: str) -> None:
        await gateway.logout(access_token)
        body: dict[str, Any] = await gateway.post(
            UPDATE_PROFILE, {"input": {"firstName": "Mallory"}}, token=access_token
        )
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
        fresh = (await gateway.login(ADDRESS))["accessToken"]
        assert await names_shown(gateway, fresh) == (None, None)
