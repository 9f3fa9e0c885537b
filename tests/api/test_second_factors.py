"""An authenticator app (TOTP) and recovery codes, through the API, on SQLite and PostgreSQL.

The test is the authenticator app: it computes codes with pyotp from the secret the
enrolment showed, at the gateway's clock (moved forward where a test needs a new code).
"""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import timedelta

import pytest

from persistence.models import SessionRow, TotpFactorRow
from tests.support.client import PASSWORD, UPDATE_PROFILE, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.factors import ANN, App, claims, enrolled, ticket_of

BOB = "bob@example.com"
RECOVERY_CODE = re.compile(r"[a-z2-9]{5}-[a-z2-9]{5}")


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory, clock: AdjustableClock) -> Gateway:
    started: Gateway = await gateway_factory(clock=clock)
    return started


class TestEnrolment:
    async def test_shows_a_qr_code_and_turns_on_only_with_a_code_from_the_app(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        assert await gateway.second_factors(token) == {"totp": False, "recoveryCodesLeft": 0}

        enrolment = await gateway.begin_totp_enrolment(token)
        assert enrolment["__typename"] == "TotpEnrolment"
        assert enrolment["otpauthUri"].startswith("otpauth://totp/")
        assert f"secret={enrolment['secret']}" in enrolment["otpauthUri"]
        assert "issuer=Auth%20Gateway" in enrolment["otpauthUri"]
        svg = enrolment["qrCodeSvg"]
        assert svg.startswith("<svg")
        assert svg.rstrip().endswith("</svg>")
        assert "href" not in svg  # nothing fetched from elsewhere
        app = App(enrolment["secret"], clock)

        wrong = str((int(app.code()) + 1) % 1_000_000).zfill(6)
        assert (await gateway.confirm_totp_enrolment(token, wrong))["__typename"] == "InvalidOtp"
        assert (await gateway.confirm_totp_enrolment(token, "12a456"))["__typename"] == "InvalidInput"
        assert (await gateway.second_factors(token))["totp"] is False
        assert (await gateway.login(ANN))["__typename"] == "AuthPayload"  # not on yet

        confirmed = await gateway.confirm_totp_enrolment(token, app.code())
        assert confirmed["__typename"] == "RecoveryCodes"
        assert len(confirmed["codes"]) == len(set(confirmed["codes"])) == 10
        assert all(RECOVERY_CODE.fullmatch(code) for code in confirmed["codes"])
        assert await gateway.second_factors(token) == {"totp": True, "recoveryCodesLeft": 10}
        await gateway.mail_settled()
        assert "Two-step sign-in is on" in str(gateway.mailbox.messages[-1]["Subject"])

        again = await gateway.begin_totp_enrolment(token)
        assert again["code"] == "SECOND_FACTOR_ALREADY_ENABLED"

    async def test_the_secret_is_sealed_in_the_database(self, gateway: Gateway, clock: AdjustableClock) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        secret = (await gateway.begin_totp_enrolment(token))["secret"]
        row = await TotpFactorRow.get()
        stored = bytes(row.sealed_secret)
        assert secret.encode() not in stored
        assert base64.b32decode(secret) not in stored

    async def test_confirming_without_a_setup_is_refused(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        answer = await gateway.confirm_totp_enrolment(token, "123456")
        assert answer["code"] == "SECOND_FACTOR_NOT_ENABLED"


class TestSignInInTwoSteps:
    async def test_the_right_password_answers_a_ticket_and_a_code_completes_the_sign_in(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        _, app, _ = await enrolled(gateway, clock)
        answer = await gateway.login(ANN)
        assert answer["__typename"] == "MfaRequired"
        assert answer["methods"] == ["TOTP", "RECOVERY_CODE"]
        assert "accessToken" not in answer

        signed_in = await gateway.complete_sign_in(answer["ticket"], "TOTP", app.next_code())
        assert signed_in["__typename"] == "AuthPayload"
        assert claims(signed_in["accessToken"])["amr"] == ["pwd", "otp", "mfa"]
        me = await gateway.me(signed_in["accessToken"])
        assert me["data"]["me"]["email"] == ANN

        refreshed = await gateway.refresh(signed_in["refreshToken"])
        assert claims(refreshed["accessToken"])["amr"] == ["pwd", "otp", "mfa"]  # the session's, kept
        methods = {s["current"]: s["signInMethods"] for s in await gateway.sessions(refreshed["accessToken"])}
        # the sign-up's session too: it proved the app by confirming its set-up
        assert methods == {True: ["pwd", "otp", "mfa"], False: ["pwd", "otp", "mfa"]}

    async def test_a_password_only_account_signs_in_at_once_with_amr_pwd(self, gateway: Gateway) -> None:
        await gateway.signed_up(BOB)
        signed_in = await gateway.login(BOB)
        assert signed_in["__typename"] == "AuthPayload"
        assert claims(signed_in["accessToken"])["amr"] == ["pwd"]

    async def test_a_wrong_password_tells_nothing_of_a_second_factor(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        await enrolled(gateway, clock)
        await gateway.signed_up(BOB)
        with_app = await gateway.login(ANN, "not the password")
        without = await gateway.login(BOB, "not the password")
        assert with_app == without == {**with_app, "__typename": "InvalidCredentials"}

    async def test_a_code_is_accepted_once(self, gateway: Gateway, clock: AdjustableClock) -> None:
        _, app, _ = await enrolled(gateway, clock)
        code = app.next_code()
        assert (await gateway.complete_sign_in(await ticket_of(gateway), "TOTP", code))["__typename"] == "AuthPayload"
        replayed = await gateway.complete_sign_in(await ticket_of(gateway), "TOTP", code)
        assert replayed["__typename"] == "InvalidOtp"
        # the step before, still within the drift allowed, is older than the one spent: refused too
        previous = app.totp.at(clock.now() - timedelta(seconds=30))
        older = await gateway.complete_sign_in(await ticket_of(gateway), "TOTP", previous)
        assert older["__typename"] == "InvalidOtp"

    async def test_a_recovery_code_works_once_and_mails_a_notice(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        token, _, codes = await enrolled(gateway, clock)
        as_typed = codes[0].upper().replace("-", " ")
        signed_in = await gateway.complete_sign_in(await ticket_of(gateway), "RECOVERY_CODE", as_typed)
        assert signed_in["__typename"] == "AuthPayload"
        await gateway.mail_settled()
        notice = gateway.mailbox.bodies_to(ANN)[-1]
        assert "recovery codes" in notice
        assert "9 recovery codes are left" in " ".join(notice.split())

        again = await gateway.complete_sign_in(await ticket_of(gateway), "RECOVERY_CODE", codes[0])
        assert again["__typename"] == "InvalidOtp"
        assert (await gateway.second_factors(token))["recoveryCodesLeft"] == 9

    async def test_a_ticket_is_single_use(self, gateway: Gateway, clock: AdjustableClock) -> None:
        _, app, _ = await enrolled(gateway, clock)
        ticket = await ticket_of(gateway)
        assert (await gateway.complete_sign_in(ticket, "TOTP", app.next_code()))["__typename"] == "AuthPayload"
        reused = await gateway.complete_sign_in(ticket, "TOTP", app.next_code())
        assert reused["__typename"] == "InvalidTicket"

    async def test_a_ticket_dies_with_its_tries(self, gateway_factory: GatewayFactory, clock: AdjustableClock) -> None:
        gateway: Gateway = await gateway_factory(clock=clock)
        _, app, _ = await enrolled(gateway, clock)
        ticket = await ticket_of(gateway)
        for _ in range(5):
            assert (await gateway.complete_sign_in(ticket, "TOTP", "000000"))["__typename"] == "InvalidOtp"
        dead = await gateway.complete_sign_in(ticket, "TOTP", app.next_code())
        assert dead["__typename"] == "InvalidTicket"

    async def test_a_ticket_expires(self, gateway: Gateway, clock: AdjustableClock) -> None:
        _, app, _ = await enrolled(gateway, clock)
        ticket = await ticket_of(gateway)
        clock.advance(minutes=5, seconds=1)
        assert (await gateway.complete_sign_in(ticket, "TOTP", app.code()))["__typename"] == "InvalidTicket"

    async def test_one_accounts_ticket_does_not_take_anothers_code(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        _, ann_app, _ = await enrolled(gateway, clock, ANN)
        _, bob_app, bob_codes = await enrolled(gateway, clock, BOB)
        ann_ticket = await ticket_of(gateway, ANN)
        clock.advance(seconds=30)
        if bob_app.code() != ann_app.code():  # one in a million: the two apps show the same digits
            assert (await gateway.complete_sign_in(ann_ticket, "TOTP", bob_app.code()))["__typename"] == "InvalidOtp"
        refused = await gateway.complete_sign_in(ann_ticket, "RECOVERY_CODE", bob_codes[0])
        assert refused["__typename"] == "InvalidOtp"

    @pytest.mark.parametrize(
        ("ticket", "method", "code", "answer"),
        [
            ("", "TOTP", "123456", "InvalidTicket"),
            ("x" * 10_000, "TOTP", "123456", "InvalidTicket"),
            ("no such ticket", "TOTP", "123456", "InvalidTicket"),
            ("no such ticket", "TOTP", "12345", "InvalidInput"),
            ("no such ticket", "RECOVERY_CODE", "not-a-code!", "InvalidInput"),
            ("no such ticket", "RECOVERY_CODE", "y" * 10_000, "InvalidInput"),
        ],
        ids=["empty", "huge", "unknown", "short-code", "bad-recovery-code", "huge-code"],
    )
    async def test_malformed_or_unknown_input_gets_a_typed_answer(
        self, gateway: Gateway, ticket: str, method: str, code: str, answer: str
    ) -> None:
        assert (await gateway.complete_sign_in(ticket, method, code))["__typename"] == answer

    async def test_wrong_codes_count_in_the_accounts_lockout(
        self, gateway_factory: GatewayFactory, clock: AdjustableClock
    ) -> None:
        gateway: Gateway = await gateway_factory(
            clock=clock, lockout_free_failures=3, lockout_first_delay_seconds=600, lockout_max_delay_seconds=600
        )
        _, app, _ = await enrolled(gateway, clock)
        for _ in range(5):  # the right code each time ends the streak the password step began
            signed_in = await gateway.complete_sign_in(await ticket_of(gateway), "TOTP", app.next_code())
            assert signed_in["__typename"] == "AuthPayload"

        answers: list[str] = []
        while "RateLimited" not in answers and len(answers) < 6:  # a right password buys no free guesses
            login = await gateway.login(ANN)
            if login["__typename"] != "MfaRequired":
                answers.append(login["__typename"])
                break
            answers.append((await gateway.complete_sign_in(login["ticket"], "TOTP", "000000"))["__typename"])
        # Each step counts until a sign-in completes: password, wrong code, password, and
        # the next code is the fourth attempt in a row, past the three free ones.
        assert answers == ["InvalidOtp", "RateLimited"]


class TestChangingFactors:
    async def test_removing_the_app_takes_the_password_and_ends_the_second_step(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        token, _, _ = await enrolled(gateway, clock)
        assert (await gateway.remove_totp(token, "not the password"))["__typename"] == "WrongPassword"
        assert (await gateway.remove_totp(token))["__typename"] == "TotpRemoved"
        assert await gateway.second_factors(token) == {"totp": False, "recoveryCodesLeft": 0}
        assert (await gateway.login(ANN))["__typename"] == "AuthPayload"
        await gateway.mail_settled()
        assert "Two-step sign-in is off" in str(gateway.mailbox.messages[-1]["Subject"])
        assert (await gateway.remove_totp(token))["code"] == "SECOND_FACTOR_NOT_ENABLED"

    async def test_new_recovery_codes_void_the_old_ones(self, gateway: Gateway, clock: AdjustableClock) -> None:
        token, _, old = await enrolled(gateway, clock)
        assert (await gateway.regenerate_recovery_codes(token, "wrong"))["__typename"] == "WrongPassword"
        new = (await gateway.regenerate_recovery_codes(token))["codes"]
        assert len(new) == 10
        assert not set(new) & set(old)
        refused = await gateway.complete_sign_in(await ticket_of(gateway), "RECOVERY_CODE", old[1])
        assert refused["__typename"] == "InvalidOtp"
        accepted = await gateway.complete_sign_in(await ticket_of(gateway), "RECOVERY_CODE", new[1])
        assert accepted["__typename"] == "AuthPayload"

    async def test_recovery_codes_need_a_second_factor(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        assert (await gateway.regenerate_recovery_codes(token))["code"] == "SECOND_FACTOR_NOT_ENABLED"

    async def test_a_password_reset_still_asks_for_the_second_factor(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        _, app, _ = await enrolled(gateway, clock)
        await gateway.request_password_reset(ANN)
        code = await gateway.code_to(ANN)
        answer = await gateway.reset_password(ANN, code, "a brand new passphrase")
        assert answer["__typename"] == "MfaRequired"
        signed_in = await gateway.complete_sign_in(answer["ticket"], "TOTP", app.next_code())
        assert signed_in["__typename"] == "AuthPayload"
        assert (await gateway.login(ANN, "a brand new passphrase"))["__typename"] == "MfaRequired"


class TestRecentProof:
    """With a second factor, the password alone no longer changes what matters: the session
    must have proved the factor within the last 5 minutes (REAUTHENTICATION_WINDOW_SECONDS)."""

    async def test_after_the_window_a_change_needs_the_factor_again(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        token, app, _ = await enrolled(gateway, clock)
        clock.advance(minutes=5, seconds=1)
        refused = await gateway.change_password(token, PASSWORD, "another long passphrase")
        assert refused["code"] == "REAUTHENTICATION_REQUIRED"
        assert (await gateway.login(ANN))["__typename"] == "MfaRequired"  # the old password still works

        assert (await gateway.reauthenticate(token, "TOTP", "000000"))["__typename"] == "InvalidOtp"
        proved = await gateway.reauthenticate(token, "TOTP", app.next_code())
        assert proved["__typename"] == "Reauthenticated"
        changed = await gateway.change_password(token, PASSWORD, "another long passphrase")
        assert changed["__typename"] == "PasswordChanged"

    @pytest.mark.parametrize("change", ["password", "email", "recovery codes", "remove app", "delete"])
    async def test_every_change_that_matters_asks_for_it(
        self, gateway: Gateway, clock: AdjustableClock, change: str
    ) -> None:
        token, _, _ = await enrolled(gateway, clock)
        clock.advance(minutes=6)
        if change == "password":
            answer = await gateway.change_password(token, PASSWORD, "another long passphrase")
        elif change == "email":
            answer = await gateway.request_email_change(token, "ann.new@example.com")
        elif change == "recovery codes":
            answer = await gateway.regenerate_recovery_codes(token)
        elif change == "remove app":
            answer = await gateway.remove_totp(token)
        else:
            answer = await gateway.delete_account(token)
        assert answer["code"] == "REAUTHENTICATION_REQUIRED"
        assert await gateway.second_factors(token) == {"totp": True, "recoveryCodesLeft": 10}

    async def test_a_session_that_signed_in_with_the_password_alone_must_prove_the_factor(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        await gateway.signed_up(ANN)
        laptop = (await gateway.login(ANN))["accessToken"]  # before the app was set up: password only
        phone = (await gateway.login(ANN))["accessToken"]
        secret = (await gateway.begin_totp_enrolment(phone))["secret"]
        app = App(secret, clock)
        await gateway.confirm_totp_enrolment(phone, app.code())
        refused = await gateway.delete_account(laptop)
        assert refused["code"] == "REAUTHENTICATION_REQUIRED"
        assert (await gateway.reauthenticate(laptop, "RECOVERY_CODE", "abcde-fghjk"))["__typename"] == "InvalidOtp"
        assert (await gateway.reauthenticate(laptop, "TOTP", app.next_code()))["__typename"] == "Reauthenticated"
        assert (await gateway.delete_account(laptop))["__typename"] == "AccountDeleted"

    async def test_without_a_second_factor_the_password_is_enough(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        assert (await gateway.reauthenticate(token, "TOTP", "123456"))["code"] == "SECOND_FACTOR_NOT_ENABLED"
        changed = await gateway.change_password(token, PASSWORD, "another long passphrase")
        assert changed["__typename"] == "PasswordChanged"


class TestPolicy:
    async def test_required_lets_an_account_without_one_only_set_it_up(
        self, gateway_factory: GatewayFactory, clock: AdjustableClock
    ) -> None:
        gateway: Gateway = await gateway_factory(clock=clock, second_factor_policy="required")
        payload = await gateway.signed_up(ANN)
        token = payload["accessToken"]
        assert (await gateway.me(token))["data"]["me"]["email"] == ANN
        refused = await gateway.post(UPDATE_PROFILE, {"input": {"firstName": "Ann"}}, token=token)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "SECOND_FACTOR_REQUIRED"
        forward = await gateway.http.get("/auth/forward", headers={"Authorization": f"Bearer {token}"})
        assert forward.status_code == 401
        assert 'error="insufficient_user_authentication"' in forward.headers["www-authenticate"]

        secret = (await gateway.begin_totp_enrolment(token))["secret"]
        await gateway.confirm_totp_enrolment(token, App(secret, clock).code())
        assert (await gateway.update_profile(token, firstName="Ann"))["firstName"] == "Ann"
        assert (await gateway.remove_totp(token))["code"] == "SECOND_FACTOR_REQUIRED"
        refreshed = await gateway.refresh(payload["refreshToken"])  # the session proved the app: aal2 now
        forward = await gateway.http.get(
            "/auth/forward", headers={"Authorization": f"Bearer {refreshed['accessToken']}"}
        )
        assert forward.status_code == 200

    async def test_off_offers_no_new_authenticator_app_and_keeps_asking_for_old_ones(
        self, gateway_factory: GatewayFactory, clock: AdjustableClock
    ) -> None:
        gateway: Gateway = await gateway_factory(clock=clock)
        await enrolled(gateway, clock, ANN)
        off: Gateway = await gateway_factory(clock=clock, second_factor_policy="off")
        bob = (await off.signed_up(BOB))["accessToken"]
        assert (await off.begin_totp_enrolment(bob))["code"] == "SECOND_FACTORS_OFF"
        assert (await off.login(ANN))["__typename"] == "MfaRequired"


class TestAtTheSameTime:
    """Requests that race each other: one wins, the others get a typed refusal, never a 500."""

    async def test_one_ticket_sent_ten_times_at_once_opens_one_session(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        _, app, _ = await enrolled(gateway, clock)
        ticket, code = await ticket_of(gateway), app.next_code()
        answers = await asyncio.gather(*(gateway.complete_sign_in(ticket, "TOTP", code) for _ in range(10)))
        kinds = sorted(answer["__typename"] for answer in answers)
        assert kinds.count("AuthPayload") == 1, kinds
        assert set(kinds) <= {"AuthPayload", "InvalidTicket", "InvalidOtp"}, kinds
        assert await SessionRow.filter(amr="pwd otp mfa").count() == 2  # the set-up's session, and this one

    @pytest.mark.parametrize("method", ["TOTP", "RECOVERY_CODE"])
    async def test_one_code_on_five_tickets_at_once_is_accepted_once(
        self, gateway: Gateway, clock: AdjustableClock, method: str
    ) -> None:
        _, app, codes = await enrolled(gateway, clock)
        tickets = [await ticket_of(gateway) for _ in range(5)]
        code = app.next_code() if method == "TOTP" else codes[0]
        answers = await asyncio.gather(*(gateway.complete_sign_in(ticket, method, code) for ticket in tickets))
        kinds = sorted(answer["__typename"] for answer in answers)
        assert kinds == ["AuthPayload", "InvalidOtp", "InvalidOtp", "InvalidOtp", "InvalidOtp"]
