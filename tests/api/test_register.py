from __future__ import annotations

import re

from tests.support.client import PASSWORD, Gateway, GatewayFactory
from tests.support.mail import ACCEPTED, CODE, SmtpSink


class TestRegister:
    async def test_mails_a_six_digit_code_to_a_new_address(self, gateway: Gateway) -> None:
        sent = await gateway.register("new@example.com")
        assert sent["__typename"] == "OtpSent"
        assert sent["expiresAt"]
        assert re.fullmatch(r"\d{6}", await gateway.last_code("new@example.com"))

    async def test_names_each_bad_field(self, gateway: Gateway) -> None:
        result = await gateway.register("not-an-address", "short", firstName="", lastName="x" * 129)
        assert result["__typename"] == "InvalidInput"
        assert {f["field"] for f in result["fields"]} == {"email", "password", "firstName", "lastName"}
        assert gateway.mailbox.messages == []

    async def test_verified_address_gets_the_same_answer_and_a_notice_instead_of_a_code(self, gateway: Gateway) -> None:
        await gateway.signed_up("taken@example.com")
        again = await gateway.register("TAKEN@example.com", "another password 123")
        assert again["__typename"] == "OtpSent"
        notice = gateway.mailbox.bodies_to("taken@example.com")[-1]
        assert "already have one" in notice
        assert not re.search(r"\b\d{6}\b", notice)
        # the owner's password is untouched
        assert (await gateway.login("taken@example.com", PASSWORD))["__typename"] == "AuthPayload"

    async def test_registering_again_while_unverified_replaces_the_code(self, gateway: Gateway) -> None:
        await gateway.register("pending@example.com", "first password 1")
        first_code = await gateway.last_code("pending@example.com")
        await gateway.register("pending@example.com", "second password 2")
        second_code = await gateway.last_code("pending@example.com")
        if first_code != second_code:
            voided = await gateway.verify("pending@example.com", first_code, password="second password 2")
            assert voided["__typename"] == "InvalidOtp"
        # the account gets the password sent with the code
        verified = await gateway.verify("pending@example.com", second_code, password="second password 2")
        assert verified["__typename"] == "AuthPayload"
        assert (await gateway.login("pending@example.com", "first password 1"))["__typename"] == "InvalidCredentials"
        assert (await gateway.login("pending@example.com", "second password 2"))["__typename"] == "AuthPayload"


class TestRegisterWhenMailFails:
    """Sign-up no longer waits for the mail server: the code waits in the outbox."""

    async def test_a_refused_message_is_retried_and_its_code_works(
        self, gateway_factory: GatewayFactory, refusing_smtp_server: SmtpSink
    ) -> None:
        gateway: Gateway = await gateway_factory(outbox_retry_base_seconds=0.05, outbox_retry_max_seconds=0.1)
        assert (await gateway.register("refused@example.com"))["__typename"] == "OtpSent"
        await gateway.mail_settled()  # tried once, refused
        assert refusing_smtp_server.bodies_to("refused@example.com") == []

        refusing_smtp_server.reply = ACCEPTED
        [body] = await gateway.mail_retried_until("refused@example.com")
        code = CODE.search(body)
        assert code is not None
        verified = await gateway.verify("refused@example.com", code.group(1))
        assert verified["__typename"] == "AuthPayload"

    async def test_server_not_listening_still_answers_otp_sent(
        self, gateway_factory: GatewayFactory, closed_smtp_port: int
    ) -> None:
        gateway: Gateway = await gateway_factory(smtp_port=closed_smtp_port)
        result = await gateway.register("nobody-listens@example.com")
        assert result["__typename"] == "OtpSent"


class TestRegisterWithBrokenText:
    async def test_lone_surrogates_are_invalid_input_not_a_crash(self, gateway: Gateway) -> None:
        # JSON can carry "\ud800", which no database can store
        body = (
            '{"query": "mutation($i: RegisterInput!) { register(input: $i) { __typename '
            '... on InvalidInput { fields { field } } } }", "variables": {"i": {"email": "s@example.com", '
            '"password": "abc\\ud800defghij", "firstName": "\\udc00"}}}'
        )
        response = await gateway.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
        result = response.json()["data"]["register"]
        assert result["__typename"] == "InvalidInput"
        assert {f["field"] for f in result["fields"]} == {"password", "firstName"}
