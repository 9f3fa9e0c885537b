from __future__ import annotations

import re

from persistence.models import UserRow
from tests.support.client import PASSWORD, Gateway, GatewayFactory


class TestLogin:
    async def test_wrong_password_and_unknown_address_answer_alike(self, gateway: Gateway) -> None:
        await gateway.signed_up("known@example.com")
        wrong = await gateway.login("known@example.com", "not the password")
        unknown = await gateway.login("unknown@example.com", "not the password")
        assert wrong == unknown
        assert wrong["__typename"] == "InvalidCredentials"

    async def test_unverified_account_gets_email_not_verified_and_a_fresh_code(self, gateway: Gateway) -> None:
        await gateway.register("late-verifier@example.com")
        first = await gateway.last_code("late-verifier@example.com")
        result = await gateway.login("late-verifier@example.com")
        assert result["__typename"] == "EmailNotVerified"
        assert len(gateway.mailbox.bodies_to("late-verifier@example.com")) == 2
        fresh = await gateway.last_code("late-verifier@example.com")
        if fresh != first:
            assert (await gateway.verify("late-verifier@example.com", first))["__typename"] == "InvalidOtp"
        assert (await gateway.verify("late-verifier@example.com", fresh))["__typename"] == "AuthPayload"

    async def test_unverified_account_with_wrong_password_gets_no_code(self, gateway: Gateway) -> None:
        await gateway.register("quiet@example.com")
        assert (await gateway.login("quiet@example.com", "wrong password"))["__typename"] == "InvalidCredentials"
        assert len(gateway.mailbox.bodies_to("quiet@example.com")) == 1

    async def test_malformed_input(self, gateway: Gateway) -> None:
        result = await gateway.login("no-at-sign", "")
        assert result["__typename"] == "InvalidInput"
        assert {f["field"] for f in result["fields"]} == {"email", "password"}

    async def test_weaker_hash_is_upgraded_on_login(self, gateway_factory: GatewayFactory) -> None:
        old: Gateway = await gateway_factory(bcrypt_cost=4)
        await old.signed_up("upgrade@example.com")
        stronger: Gateway = await gateway_factory(bcrypt_cost=5)
        assert (await stronger.login("upgrade@example.com", "wrong password"))["__typename"] == "InvalidCredentials"
        row = await UserRow.get(email_key="upgrade@example.com")
        assert row.password_hash.startswith("$2b$04$")
        assert (await stronger.login("upgrade@example.com", PASSWORD))["__typename"] == "AuthPayload"
        row = await UserRow.get(email_key="upgrade@example.com")
        assert re.match(r"^\$2b\$05\$", row.password_hash)
