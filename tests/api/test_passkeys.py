"""Passkeys (WebAuthn) through the API, on SQLite and PostgreSQL, with a software authenticator
that answers as a browser would, and misbehaves where a test asks it to."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from persistence.models import AuditEventRow
from tests.support.authenticator import SoftAuthenticator
from tests.support.client import ERROR, PASSWORD, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.factors import (
    ANN,
    BEGIN_REGISTRATION,
    BEGIN_SIGN_IN,
    REMOVE,
    SPA,
    claims,
    finish_registration,
    finish_sign_in,
    passkeys_of,
    registration_options,
    sign_in_options,
    with_passkey,
)
from tests.support.settings import make_settings


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory, clock: AdjustableClock) -> Gateway:
    started: Gateway = await gateway_factory(clock=clock, webauthn_origins=[SPA])
    return started


class TestAddingAPasskey:
    async def test_asks_for_a_discoverable_verified_passkey_and_keeps_it(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        options = json.loads(await registration_options(gateway, token))
        assert options["rp"]["id"] == "localhost"
        assert options["authenticatorSelection"]["residentKey"] == "required"
        assert options["authenticatorSelection"]["userVerification"] == "required"
        assert options["attestation"] == "none"

        authenticator = SoftAuthenticator(SPA)
        added = await finish_registration(gateway, token, authenticator.create(json.dumps(options)), "  My   laptop ")
        assert added["__typename"] == "PasskeyAdded"
        assert len(added["recoveryCodes"]) == 10  # the account's first second factor
        assert (added["passkey"]["name"], added["passkey"]["lastUsedAt"]) == ("My laptop", None)
        listed = await passkeys_of(gateway, token)
        assert [p["id"] for p in listed] == [added["passkey"]["id"]]
        await gateway.mail_settled()
        assert "A passkey was added" in str(gateway.mailbox.messages[-1]["Subject"])

        again = json.loads(await registration_options(gateway, token))
        assert [c["id"] for c in again["excludeCredentials"]] == [added["passkey"]["id"]]  # never twice
        second = await finish_registration(gateway, token, SoftAuthenticator(SPA).create(json.dumps(again)), "Phone")
        assert second["recoveryCodes"] == []  # the codes made with the first still stand

    async def test_needs_the_password(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        variables = {"input": {"password": "not the password"}}
        begun = await gateway.signed_in("beginPasskeyRegistration", BEGIN_REGISTRATION, variables, token)
        assert begun["__typename"] == "WrongPassword"

    @pytest.mark.parametrize(
        "misbehaviour",
        [{"origin": "https://evil.example"}, {"rp_id": "evil.example"}, {"verified": False}],
        ids=["other-origin", "other-site", "no-user-verification"],
    )
    async def test_refuses_what_a_browser_would_not_vouch_for(
        self, gateway: Gateway, misbehaviour: dict[str, Any]
    ) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        credential = SoftAuthenticator(SPA).create(await registration_options(gateway, token), **misbehaviour)
        assert (await finish_registration(gateway, token, credential))["__typename"] == "InvalidPasskey"
        assert await passkeys_of(gateway, token) == []

    async def test_an_answer_to_another_accounts_challenge_is_refused(self, gateway: Gateway) -> None:
        ann = (await gateway.signed_up(ANN))["accessToken"]
        bob = (await gateway.signed_up("bob@example.com"))["accessToken"]
        credential = SoftAuthenticator(SPA).create(await registration_options(gateway, bob))
        assert (await finish_registration(gateway, ann, credential))["__typename"] == "InvalidPasskey"

    @pytest.mark.parametrize(
        "credential", ["", "not json", "[]", "{}", '{"response": {"clientDataJSON": 5}}', "x" * 60_000]
    )
    async def test_garbage_gets_a_typed_answer(self, gateway: Gateway, credential: str) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        assert (await finish_registration(gateway, token, credential))["__typename"] == "InvalidPasskey"


class TestSigningInWithAPasskey:
    async def test_no_address_no_password_and_the_token_says_how(self, gateway: Gateway) -> None:
        authenticator = SoftAuthenticator(SPA)
        await with_passkey(gateway, authenticator)
        options = json.loads(await sign_in_options(gateway))
        assert options["userVerification"] == "required"
        assert options.get("allowCredentials", []) == []  # discoverable: the authenticator says who
        signed_in = await finish_sign_in(gateway, authenticator.get(json.dumps(options)))
        assert signed_in["__typename"] == "AuthPayload"
        assert signed_in["user"]["email"] == ANN
        assert claims(signed_in["accessToken"])["amr"] == ["hwk", "user", "mfa"]
        [listed] = await passkeys_of(gateway, signed_in["accessToken"])
        assert listed["lastUsedAt"] is not None

    async def test_a_synced_passkey_is_a_software_key(self, gateway: Gateway) -> None:
        authenticator = SoftAuthenticator(SPA, synced=True)
        token = await with_passkey(gateway, authenticator)
        [listed] = await passkeys_of(gateway, token)
        assert listed["synced"] is True
        signed_in = await finish_sign_in(gateway, authenticator.get(await sign_in_options(gateway)))
        assert claims(signed_in["accessToken"])["amr"] == ["swk", "user", "mfa"]

    @pytest.mark.parametrize(
        "misbehaviour",
        [{"origin": "https://evil.example"}, {"rp_id": "evil.example"}, {"verified": False}],
        ids=["other-origin", "other-site", "no-user-verification"],
    )
    async def test_refuses_what_a_browser_would_not_vouch_for(
        self, gateway: Gateway, misbehaviour: dict[str, Any]
    ) -> None:
        authenticator = SoftAuthenticator(SPA)
        await with_passkey(gateway, authenticator)
        answer = authenticator.get(await sign_in_options(gateway), **misbehaviour)
        assert (await finish_sign_in(gateway, answer))["__typename"] == "InvalidPasskey"

    async def test_a_challenge_is_answered_once(self, gateway: Gateway) -> None:
        authenticator = SoftAuthenticator(SPA)
        await with_passkey(gateway, authenticator)
        options = await sign_in_options(gateway)
        assert (await finish_sign_in(gateway, authenticator.get(options)))["__typename"] == "AuthPayload"
        replayed = authenticator.get(options)  # a fresh counter, the spent challenge
        assert (await finish_sign_in(gateway, replayed))["__typename"] == "InvalidPasskey"

    async def test_a_challenge_expires(self, gateway: Gateway, clock: AdjustableClock) -> None:
        authenticator = SoftAuthenticator(SPA)
        await with_passkey(gateway, authenticator)
        options = await sign_in_options(gateway)
        clock.advance(minutes=5, seconds=1)
        assert (await finish_sign_in(gateway, authenticator.get(options)))["__typename"] == "InvalidPasskey"

    async def test_a_counter_that_goes_back_is_a_cloned_key_refused_and_audited(self, gateway: Gateway) -> None:
        authenticator = SoftAuthenticator(SPA)
        await with_passkey(gateway, authenticator)
        assert (await finish_sign_in(gateway, authenticator.get(await sign_in_options(gateway), counter=7)))[
            "__typename"
        ] == "AuthPayload"
        clone = authenticator.get(await sign_in_options(gateway), counter=7)
        assert (await finish_sign_in(gateway, clone))["__typename"] == "InvalidPasskey"
        [event] = await AuditEventRow.filter(event="passkey_refused")
        assert event.detail == "cloned"
        assert (await finish_sign_in(gateway, authenticator.get(await sign_in_options(gateway), counter=8)))[
            "__typename"
        ] == "AuthPayload"

    async def test_an_unknown_passkey_or_a_registration_answer_is_refused(self, gateway: Gateway) -> None:
        await with_passkey(gateway, SoftAuthenticator(SPA))
        stranger = SoftAuthenticator(SPA)
        stranger.create(json.dumps({"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"}))
        assert (await finish_sign_in(gateway, stranger.get(await sign_in_options(gateway))))[
            "__typename"
        ] == "InvalidPasskey"
        token = (await gateway.signed_up("bob@example.com"))["accessToken"]
        registration = SoftAuthenticator(SPA).create(await registration_options(gateway, token))
        assert (await finish_sign_in(gateway, registration))["__typename"] == "InvalidPasskey"

    @pytest.mark.parametrize("credential", ["", "null", "{}", '{"response": []}', "y" * 60_000])
    async def test_garbage_gets_a_typed_answer(self, gateway: Gateway, credential: str) -> None:
        assert (await finish_sign_in(gateway, credential))["__typename"] == "InvalidPasskey"


class TestRenamingAPasskey:
    RENAME = f"""mutation($input: RenamePasskeyInput!) {{ renamePasskey(input: $input) {{ __typename {ERROR}
      ... on Passkey {{ id name }} ... on InvalidInput {{ fields {{ field message }} }} }} }}"""

    async def test_only_ones_own_and_with_a_sane_name(self, gateway: Gateway) -> None:
        token = await with_passkey(gateway, SoftAuthenticator(SPA))
        [listed] = await passkeys_of(gateway, token)
        renamed = await gateway.signed_in(
            "renamePasskey", self.RENAME, {"input": {"id": listed["id"], "name": " Work  phone "}}, token
        )
        assert renamed == {"__typename": "Passkey", "id": listed["id"], "name": "Work phone"}
        too_long = {"input": {"id": listed["id"], "name": "x" * 65}}
        assert (await gateway.signed_in("renamePasskey", self.RENAME, too_long, token))["__typename"] == "InvalidInput"
        bob = (await gateway.signed_up("bob@example.com"))["accessToken"]
        theirs = {"input": {"id": listed["id"], "name": "Mine now"}}
        assert (await gateway.signed_in("renamePasskey", self.RENAME, theirs, bob))["__typename"] == "PasskeyNotFound"
        assert [p["name"] for p in await passkeys_of(gateway, token)] == ["Work phone"]


class TestRemovingAPasskey:
    async def test_needs_the_password_and_then_the_passkey_no_longer_signs_in(self, gateway: Gateway) -> None:
        authenticator = SoftAuthenticator(SPA)
        token = await with_passkey(gateway, authenticator)
        [listed] = await passkeys_of(gateway, token)
        wrong = {"input": {"id": listed["id"], "password": "not the password"}}
        assert (await gateway.signed_in("removePasskey", REMOVE, wrong, token))["__typename"] == "WrongPassword"
        right = {"input": {"id": listed["id"], "password": PASSWORD}}
        assert (await gateway.signed_in("removePasskey", REMOVE, right, token))["__typename"] == "PasskeyRemoved"
        assert (await finish_sign_in(gateway, authenticator.get(await sign_in_options(gateway))))[
            "__typename"
        ] == "InvalidPasskey"
        await gateway.mail_settled()
        assert "A passkey was removed" in str(gateway.mailbox.messages[-1]["Subject"])

    @pytest.mark.parametrize("passkey_id", ["AAAA", "not base64 !!", "z" * 5000])
    async def test_an_unknown_id_is_not_found(self, gateway: Gateway, passkey_id: str) -> None:
        token = await with_passkey(gateway, SoftAuthenticator(SPA))
        variables = {"input": {"id": passkey_id, "password": PASSWORD}}
        assert (await gateway.signed_in("removePasskey", REMOVE, variables, token))["__typename"] == "PasskeyNotFound"

    async def test_deleting_the_account_takes_its_passkeys(self, gateway: Gateway) -> None:
        authenticator = SoftAuthenticator(SPA)
        token = await with_passkey(gateway, authenticator)
        assert (await gateway.delete_account(token))["__typename"] == "AccountDeleted"
        assert (await finish_sign_in(gateway, authenticator.get(await sign_in_options(gateway))))[
            "__typename"
        ] == "InvalidPasskey"


class TestTheLastWayIn:
    """An account a mailed code made has no password: its last passkey stays while no provider is linked."""

    @staticmethod
    async def passwordless_with_passkeys(gateway: Gateway, count: int) -> tuple[str, list[str]]:
        """An account made by a sign-in code (no password) with ``count`` passkeys: its token, their ids."""
        assert (await gateway.request_sign_in_code(ANN))["__typename"] == "OtpSent"
        signed_in = await gateway.sign_in_with_code(ANN, await gateway.code_to(ANN))
        assert signed_in["__typename"] == "AuthPayload", signed_in
        token: str = signed_in["accessToken"]
        for name in ("Laptop", "Phone", "Tablet", "Key")[:count]:
            begun = await gateway.signed_in("beginPasskeyRegistration", BEGIN_REGISTRATION, {"input": {}}, token)
            assert begun["__typename"] == "PasskeyOptions", begun  # the code's sign-in is a recent proof
            added = await finish_registration(gateway, token, SoftAuthenticator(SPA).create(begun["optionsJson"]), name)
            assert added["__typename"] == "PasskeyAdded", added
        return token, [passkey["id"] for passkey in await passkeys_of(gateway, token)]

    @staticmethod
    async def remove(gateway: Gateway, token: str, passkey_id: str) -> str:
        removed = await gateway.signed_in("removePasskey", REMOVE, {"input": {"id": passkey_id}}, token)
        typename: str = removed["__typename"]
        return typename

    async def test_the_last_passkey_of_an_account_without_a_password_stays(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(webauthn_origins=[SPA], sign_in_code_creates_accounts=True)
        token, [first, second] = await self.passwordless_with_passkeys(gateway, 2)
        assert await self.remove(gateway, token, first) == "PasskeyRemoved"
        refused = await gateway.signed_in("removePasskey", REMOVE, {"input": {"id": second}}, token)
        assert refused["__typename"] == "LastSignInMethod", refused
        assert refused["code"] == "LAST_SIGN_IN_METHOD"
        assert [passkey["id"] for passkey in await passkeys_of(gateway, token)] == [second]
        # an unknown id is still just not found
        assert await self.remove(gateway, token, "AAAA") == "PasskeyNotFound"

    async def test_removals_at_once_leave_one(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(webauthn_origins=[SPA], sign_in_code_creates_accounts=True)
        token, ids = await self.passwordless_with_passkeys(gateway, 4)
        answers = await asyncio.gather(*(self.remove(gateway, token, passkey_id) for passkey_id in ids))
        assert sorted(answers) == ["LastSignInMethod", "PasskeyRemoved", "PasskeyRemoved", "PasskeyRemoved"]
        assert len(await passkeys_of(gateway, token)) == 1

    async def test_with_a_password_the_last_passkey_goes(self, gateway: Gateway) -> None:
        token = await with_passkey(gateway, SoftAuthenticator(SPA))
        [listed] = await passkeys_of(gateway, token)
        variables = {"input": {"id": listed["id"], "password": PASSWORD}}
        assert (await gateway.signed_in("removePasskey", REMOVE, variables, token))["__typename"] == "PasskeyRemoved"


async def test_without_passkey_origins_passkeys_are_not_offered(gateway_factory: GatewayFactory) -> None:
    gateway: Gateway = await gateway_factory()
    assert (await gateway.mutate("beginPasskeySignIn", BEGIN_SIGN_IN, {}))["__typename"] == "InvalidPasskey"


async def test_cors_origins_on_the_site_are_passkey_origins_and_the_others_do_not_stop_the_start(
    gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    settings = make_settings("sqlite://unused", 25, tmp_path, cors_origins=["https://app.example.com", SPA])
    assert settings.passkey_origins == [SPA]  # app.example.com is not on the site "localhost"
    gateway: Gateway = await gateway_factory(cors_origins=["https://app.example.com", SPA])
    authenticator = SoftAuthenticator(SPA)
    await with_passkey(gateway, authenticator)
    assert (await finish_sign_in(gateway, authenticator.get(await sign_in_options(gateway))))[
        "__typename"
    ] == "AuthPayload"


class TestAPasskeyAsTheSecondStep:
    LOGIN_WITH_OPTIONS = f"""mutation($input: LoginInput!) {{ login(input: $input) {{ __typename {ERROR}
      ... on MfaRequired {{ ticket methods webauthnOptions }} }} }}"""

    async def ticket(self, gateway: Gateway, email: str = ANN) -> dict[str, Any]:
        answer = await gateway.mutate(
            "login", self.LOGIN_WITH_OPTIONS, {"input": {"email": email, "password": PASSWORD}}
        )
        assert answer["__typename"] == "MfaRequired", answer
        return answer

    async def test_a_password_sign_in_asks_for_the_passkey_and_it_completes_it(self, gateway: Gateway) -> None:
        authenticator = SoftAuthenticator(SPA)
        token = await with_passkey(gateway, authenticator)
        [listed] = await passkeys_of(gateway, token)
        required = await self.ticket(gateway)
        assert required["methods"] == ["RECOVERY_CODE", "WEBAUTHN"]
        options = json.loads(required["webauthnOptions"])
        assert [c["id"] for c in options["allowCredentials"]] == [listed["id"]]
        assert options["userVerification"] == "required"

        answer = authenticator.get(required["webauthnOptions"])
        signed_in = await gateway.complete_sign_in(required["ticket"], "WEBAUTHN", answer)
        assert signed_in["__typename"] == "AuthPayload"
        assert claims(signed_in["accessToken"])["amr"] == ["pwd", "hwk", "mfa"]
        again = await self.ticket(gateway)
        assert (await gateway.complete_sign_in(again["ticket"], "WEBAUTHN", answer))["code"] == "INVALID_PASSKEY"

    async def test_another_accounts_passkey_or_a_sign_in_challenge_does_not_complete_it(self, gateway: Gateway) -> None:
        ann, bob = SoftAuthenticator(SPA), SoftAuthenticator(SPA)
        await with_passkey(gateway, ann, ANN)
        await with_passkey(gateway, bob, "bob@example.com")
        required = await self.ticket(gateway)
        bobs = bob.get(required["webauthnOptions"])
        assert (await gateway.complete_sign_in(required["ticket"], "WEBAUTHN", bobs))["code"] == "INVALID_PASSKEY"
        discoverable = ann.get(await sign_in_options(gateway))  # a challenge of another ceremony
        refused = await gateway.complete_sign_in(required["ticket"], "WEBAUTHN", discoverable)
        assert refused["code"] == "INVALID_PASSKEY"
        assert (await gateway.complete_sign_in(required["ticket"], "WEBAUTHN", "not json"))["code"] == "INVALID_PASSKEY"
        # the challenge was spent by the first answer, whoever gave it; a new sign-in's works
        spent = ann.get(required["webauthnOptions"])
        assert (await gateway.complete_sign_in(required["ticket"], "WEBAUTHN", spent))["code"] == "INVALID_PASSKEY"
        fresh = await self.ticket(gateway)
        answer = ann.get(fresh["webauthnOptions"])
        assert (await gateway.complete_sign_in(fresh["ticket"], "WEBAUTHN", answer))["__typename"] == "AuthPayload"


class TestRecentProofWithAPasskey:
    BEGIN = f"""mutation {{ beginReauthentication {{ __typename {ERROR}
      ... on ReauthenticationOptions {{ methods webauthnOptions }} }} }}"""

    async def test_a_passkey_only_account_proves_it_again_with_the_passkey(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        authenticator = SoftAuthenticator(SPA)
        token = await with_passkey(gateway, authenticator)
        clock.advance(minutes=6)
        refused = await gateway.change_password(token, PASSWORD, "another long passphrase")
        assert refused["code"] == "REAUTHENTICATION_REQUIRED"

        options = await gateway.signed_in("beginReauthentication", self.BEGIN, None, token)
        assert options["methods"] == ["RECOVERY_CODE", "WEBAUTHN"]
        bad = authenticator.get(options["webauthnOptions"], verified=False)
        assert (await gateway.reauthenticate(token, "WEBAUTHN", bad))["code"] == "INVALID_PASSKEY"
        options = await gateway.signed_in("beginReauthentication", self.BEGIN, None, token)
        proved = await gateway.reauthenticate(token, "WEBAUTHN", authenticator.get(options["webauthnOptions"]))
        assert proved["__typename"] == "Reauthenticated"
        current = [s for s in await gateway.sessions(token) if s["current"]]
        assert [s["signInMethods"] for s in current] == [["pwd", "hwk", "mfa"]]  # the passkey, not an app code
        changed = await gateway.change_password(token, PASSWORD, "another long passphrase")
        assert changed["__typename"] == "PasswordChanged"

    async def test_a_passkey_sign_in_is_a_recent_proof(self, gateway: Gateway) -> None:
        authenticator = SoftAuthenticator(SPA)
        await with_passkey(gateway, authenticator)
        signed_in = await finish_sign_in(gateway, authenticator.get(await sign_in_options(gateway)))
        deleted = await gateway.delete_account(signed_in["accessToken"])
        assert deleted["__typename"] == "AccountDeleted"

    async def test_without_a_second_factor_there_is_nothing_to_prove(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        answer = await gateway.signed_in("beginReauthentication", self.BEGIN, None, token)
        assert answer["code"] == "SECOND_FACTOR_NOT_ENABLED"


class TestRecoveryCodesOfAPasskeyOnlyAccount:
    async def test_a_recovery_code_stands_in_for_a_lost_passkey_and_goes_with_the_last_factor(
        self, gateway: Gateway
    ) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        added = await finish_registration(
            gateway, token, SoftAuthenticator(SPA).create(await registration_options(gateway, token))
        )
        codes = added["recoveryCodes"]
        required = await gateway.login(ANN)
        assert required["methods"] == ["RECOVERY_CODE", "WEBAUTHN"]
        signed_in = await gateway.complete_sign_in(required["ticket"], "RECOVERY_CODE", codes[0])
        assert signed_in["__typename"] == "AuthPayload"
        assert (await gateway.regenerate_recovery_codes(signed_in["accessToken"]))["__typename"] == "RecoveryCodes"

        [listed] = await passkeys_of(gateway, signed_in["accessToken"])
        variables = {"input": {"id": listed["id"], "password": PASSWORD}}
        removed = await gateway.signed_in("removePasskey", REMOVE, variables, signed_in["accessToken"])
        assert removed["__typename"] == "PasskeyRemoved"
        assert (await gateway.second_factors(signed_in["accessToken"]))["recoveryCodesLeft"] == 0
        assert (await gateway.login(ANN))["__typename"] == "AuthPayload"  # the password alone again
