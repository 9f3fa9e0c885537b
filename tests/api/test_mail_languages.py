"""Mails in the person's language, over HTTP: the account's language, else the request's
Accept-Language, else DEFAULT_LOCALE; on SQLite and PostgreSQL."""

from __future__ import annotations

from email.header import decode_header, make_header
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.client import Gateway

ADDRESS = "sprache@example.com"
GERMAN = {"accept-language": "de-DE,de;q=0.9"}
FRENCH = {"accept-language": "fr-CH, fr;q=0.9, en;q=0.5"}


def last_subject(gateway: Gateway, address: str) -> str:
    """The subject of the last message to ``address``, decoded (non-ASCII travels encoded)."""
    for message, recipients in zip(
        reversed(gateway.mailbox.messages), reversed(gateway.mailbox.recipients), strict=True
    ):
        if address in recipients:
            return str(make_header(decode_header(message["Subject"])))
    raise AssertionError(f"no mail to {address}")


async def last_body(gateway: Gateway, address: str) -> str:
    await gateway.mail_settled()
    return gateway.mailbox.bodies_to(address)[-1]


class TestTheAccountsLanguage:
    async def test_a_german_account_gets_german_mail_whatever_the_request_asks_for(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ADDRESS))["accessToken"]
        updated = await gateway.update_profile(token, locale="de")
        assert (updated["__typename"], updated["locale"]) == ("User", "de")
        assert (await gateway.me(token))["data"]["me"]["locale"] == "de"

        await gateway.request_password_reset(ADDRESS, headers=FRENCH)
        body = await last_body(gateway, ADDRESS)
        assert "Setzen Sie" in last_subject(gateway, ADDRESS)
        assert "Jemand, hoffentlich Sie, möchte Ihr" in " ".join(body.split())
        assert "Der Code ist 10 Minuten lang gültig" in " ".join(body.split())
        assert await gateway.last_code(ADDRESS)

    async def test_chosen_at_sign_up_it_writes_the_first_code_and_is_kept(self, gateway: Gateway) -> None:
        sent = await gateway.register(ADDRESS, locale="fr")
        assert sent["__typename"] == "OtpSent"
        body = await last_body(gateway, ADDRESS)
        assert last_subject(gateway, ADDRESS) == "Votre code de vérification Auth Gateway"
        assert body.startswith("Bonjour,")
        payload = await gateway.verify(ADDRESS, await gateway.last_code(ADDRESS))
        assert (await gateway.me(payload["accessToken"]))["data"]["me"]["locale"] == "fr"

    async def test_null_clears_it_and_the_request_decides_again(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ADDRESS))["accessToken"]
        await gateway.update_profile(token, locale="de")
        cleared = await gateway.update_profile(token, locale=None)
        assert cleared["locale"] is None
        await gateway.request_password_reset(ADDRESS, headers=FRENCH)
        assert (await last_body(gateway, ADDRESS)).startswith("Bonjour,")


class TestTheRequestsLanguage:
    async def test_accept_language_writes_a_sign_ups_first_code(self, gateway: Gateway) -> None:
        await gateway.register(ADDRESS, headers=GERMAN)
        body = await last_body(gateway, ADDRESS)
        assert last_subject(gateway, ADDRESS) == "Ihr Bestätigungscode für Auth Gateway"
        assert body.startswith("Hallo,")
        # the header wrote one mail; it does not become the account's language
        payload = await gateway.verify(ADDRESS, await gateway.last_code(ADDRESS))
        assert (await gateway.me(payload["accessToken"]))["data"]["me"]["locale"] is None

    async def test_a_language_that_does_not_ship_falls_back_to_the_default(self, gateway: Gateway) -> None:
        await gateway.register(ADDRESS, headers={"accept-language": "tlh, x-klingon;q=0.9, *;q=0.1"})
        assert (await last_body(gateway, ADDRESS)).startswith("Hello,")

    async def test_a_malformed_header_is_no_error(self, gateway: Gateway) -> None:
        sent = await gateway.register(ADDRESS, headers={"accept-language": ";;q=de,,,=" + "x" * 5000})
        assert sent["__typename"] == "OtpSent"
        assert (await last_body(gateway, ADDRESS)).startswith("Hello,")

    async def test_a_strangers_header_never_writes_an_accounts_notice(self, gateway: Gateway) -> None:
        """Someone signing up at a taken address gets the answer a new address gets; the owner's
        notice is in the owner's language (here the default), not the stranger's."""
        await gateway.signed_up(ADDRESS)
        taken = await gateway.register(ADDRESS, headers=GERMAN)
        new = await gateway.register("niemand@example.com", headers=GERMAN)
        assert taken.keys() == new.keys()
        assert taken["__typename"] == new["__typename"] == "OtpSent"
        assert (await last_body(gateway, ADDRESS)).startswith("Hello,")
        assert (await last_body(gateway, "niemand@example.com")).startswith("Hallo,")


class TestUnsupportedLocales:
    async def test_register_names_the_locale_field_and_sends_nothing(self, gateway: Gateway) -> None:
        result = await gateway.register(ADDRESS, locale="tlh")
        assert result["__typename"] == "InvalidInput"
        assert [field["field"] for field in result["fields"]] == ["locale"]
        assert "en, de, fr" in result["fields"][0]["message"]
        await gateway.mail_settled()
        assert gateway.mailbox.messages == []

    async def test_update_profile_names_the_locale_field_and_changes_nothing(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ADDRESS))["accessToken"]
        for bad in ("xx", "", "de_DE_evil", "d" * 5000):
            result = await gateway.update_profile(token, locale=bad)
            assert result["__typename"] == "InvalidInput", bad
            assert [field["field"] for field in result["fields"]] == ["locale"]
        assert (await gateway.me(token))["data"]["me"]["locale"] is None

    async def test_a_tag_is_forgiven_its_case_and_hyphen(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ADDRESS))["accessToken"]
        assert (await gateway.update_profile(token, locale=" DE "))["locale"] == "de"
