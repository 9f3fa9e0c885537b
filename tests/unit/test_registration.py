from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.entities import MailKind, OtpPurpose, OtpSent
from domain.errors import InvalidCredentials, InvalidInput, InvalidOtp
from domain.services.throttle import RateLimits
from tests.unit.gateway import ALICE, ALICE_PASSWORD, START

if TYPE_CHECKING:
    from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import PendingUser, VerifiedUser, WiredServices

NEW_PASSWORD = "a brand new passphrase"
COOLDOWN = RateLimits().resend_cooldown  # within it, signing up again mails nothing


def stored_strings(database: FakeDatabase) -> list[str]:
    """Every text value of every entity the fake database holds."""
    state = database.state
    entities = [
        *state.users.values(),
        *state.challenges.values(),
        *state.sessions.values(),
        *state.refresh_tokens.values(),
    ]
    return [value for entity in entities for value in vars(entity).values() if isinstance(value, str)]


class TestRegister:
    async def test_creates_an_unverified_account_and_mails_a_code(
        self, gateway: WiredServices, database: FakeDatabase, mailer: FakeMailer
    ) -> None:
        sent = await gateway.registration.register(ALICE, ALICE_PASSWORD, "Alice", "Liddell")

        assert sent == OtpSent(email=ALICE, expires_at=START + timedelta(minutes=10))
        user = database.user_by_email(ALICE)
        assert user is not None
        assert (user.email, user.first_name, user.last_name) == (ALICE, "Alice", "Liddell")
        assert not user.email_verified
        assert ALICE_PASSWORD not in stored_strings(database)
        assert [mail.to for mail in mailer.sent] == [ALICE]
        assert mailer.sent[0].kind == MailKind.VERIFY_EMAIL
        assert mailer.sent[0].code_lifetime_seconds == 10 * 60

    async def test_the_mailed_code_is_six_digits_kept_only_as_an_hmac(
        self, gateway: WiredServices, database: FakeDatabase, mailer: FakeMailer
    ) -> None:
        await gateway.registration.register(ALICE, ALICE_PASSWORD)

        code = mailer.last_code_sent_to(ALICE)
        assert re.fullmatch(r"[0-9]{6}", code)
        user = database.user_by_email(ALICE)
        assert user is not None
        (challenge,) = database.state.challenges.values()
        assert challenge.code_hmac == gateway.otp_codes.digest(user.id, OtpPurpose.VERIFY_EMAIL, code)
        assert code not in stored_strings(database)

    async def test_normalises_the_address(
        self, gateway: WiredServices, database: FakeDatabase, mailer: FakeMailer
    ) -> None:
        sent = await gateway.registration.register("  Alice.Liddell@Example.COM ", ALICE_PASSWORD)

        assert sent.email == "Alice.Liddell@example.com"
        assert [user.email for user in database.state.users.values()] == ["Alice.Liddell@example.com"]
        assert [mail.to for mail in mailer.sent] == ["Alice.Liddell@example.com"]

    async def test_one_account_per_address_whatever_its_case(
        self, gateway: WiredServices, database: FakeDatabase
    ) -> None:
        await gateway.registration.register("alice@example.com", ALICE_PASSWORD)
        await gateway.registration.register("ALICE@EXAMPLE.COM", ALICE_PASSWORD)

        assert len(database.state.users) == 1

    async def test_names_are_optional(self, gateway: WiredServices, database: FakeDatabase) -> None:
        await gateway.registration.register(ALICE, ALICE_PASSWORD)

        user = database.user_by_email(ALICE)
        assert user is not None
        assert (user.first_name, user.last_name) == (None, None)

    @pytest.mark.parametrize("password", ["96841375", "x" * 128, "пароль🔑密码", "ﬁﬁﬁZQ"])
    async def test_accepts_any_password_of_8_to_128_characters(
        self, gateway: WiredServices, database: FakeDatabase, password: str
    ) -> None:
        await gateway.registration.register(ALICE, password)
        assert database.user_by_email(ALICE) is not None

    @pytest.mark.parametrize(
        ("email", "password", "first_name", "last_name", "bad_fields"),
        [
            ("not-an-address", ALICE_PASSWORD, None, None, ["email"]),
            (ALICE, "1234567", None, None, ["password"]),
            (ALICE, "x" * 129, None, None, ["password"]),
            (ALICE, ALICE_PASSWORD, "", None, ["first_name"]),
            (ALICE, ALICE_PASSWORD, None, "x" * 129, ["last_name"]),
            ("", "short", "  ", "x" * 129, ["email", "password", "first_name", "last_name"]),
        ],
    )
    async def test_bad_input_names_every_bad_field_and_writes_nothing(
        self,
        gateway: WiredServices,
        database: FakeDatabase,
        mailer: FakeMailer,
        email: str,
        password: str,
        first_name: str | None,
        last_name: str | None,
        bad_fields: list[str],
    ) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.registration.register(email, password, first_name, last_name)

        assert [error.field for error in raised.value.errors] == bad_fields
        assert database.state.users == {}
        assert mailer.sent == []

    async def test_a_verified_address_gets_the_same_answer_and_a_notice_without_code(
        self, gateway: WiredServices, verified_user: VerifiedUser, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        clock.advance(COOLDOWN)
        sent = await gateway.registration.register(verified_user.email, NEW_PASSWORD)

        assert sent == OtpSent(email=verified_user.email, expires_at=clock.now() + timedelta(minutes=10))
        (notice,) = mailer.sent
        assert notice.to == verified_user.email
        assert notice.kind == MailKind.ALREADY_REGISTERED
        assert notice.code is None
        assert mailer.codes_sent_to(verified_user.email) == []

    async def test_a_verified_account_keeps_its_password_and_names(
        self, gateway: WiredServices, verified_user: VerifiedUser, database: FakeDatabase
    ) -> None:
        await gateway.registration.register(verified_user.email, NEW_PASSWORD, "Mallory", "Intruder")

        await gateway.login.login(verified_user.email, verified_user.password)
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(verified_user.email, NEW_PASSWORD)
        user = database.user_by_email(verified_user.email)
        assert user is not None
        assert (user.first_name, user.last_name) == ("Alice", "Liddell")

    async def test_registering_a_pending_address_again_replaces_the_code_and_the_password_comes_with_it(
        self,
        gateway: WiredServices,
        pending_user: PendingUser,
        database: FakeDatabase,
        mailer: FakeMailer,
        clock: FixedClock,
    ) -> None:
        clock.advance(COOLDOWN)
        await gateway.registration.register(pending_user.email, NEW_PASSWORD, "Alice", None)

        assert len(database.state.users) == 1
        new_code = mailer.last_code_sent_to(pending_user.email)
        if new_code != pending_user.code:  # one chance in a million that both draws agree
            with pytest.raises(InvalidOtp):
                await gateway.verification.verify(pending_user.email, pending_user.code, NEW_PASSWORD)
        signed_in = await gateway.verification.verify(pending_user.email, new_code, NEW_PASSWORD)
        assert (signed_in.user.first_name, signed_in.user.last_name) == ("Alice", None)
        await gateway.login.login(pending_user.email, NEW_PASSWORD)
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(pending_user.email, pending_user.password)

    async def test_a_second_click_within_the_cooldown_mails_nothing_and_spends_no_budget(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer
    ) -> None:
        for _ in range(10):  # more than the address's budget of mails
            await gateway.registration.register(pending_user.email, pending_user.password)

        assert mailer.codes_sent_to(pending_user.email) == [pending_user.code]
        await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

    async def test_hashes_the_password_even_for_a_verified_address(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        password_hasher: CountingPasswordHasher,
        clock: FixedClock,
    ) -> None:
        # Every branch costs one bcrypt run, so timing does not tell who has an account.
        clock.advance(COOLDOWN)
        hashes_before = password_hasher.hashes
        await gateway.registration.register(verified_user.email, NEW_PASSWORD)
        assert password_hasher.hashes == hashes_before + 1

    async def test_losing_a_race_for_the_address_refreshes_the_account_the_winner_created(
        self,
        gateway: WiredServices,
        pending_user: PendingUser,
        database: FakeDatabase,
        mailer: FakeMailer,
        clock: FixedClock,
    ) -> None:
        clock.advance(COOLDOWN)
        # Our lookup misses the account a concurrent request has just committed, so our
        # insert is refused; the service must then treat the address as taken, not fail.
        database.stale_email_lookups = 1
        mails_before = len(mailer.sent)

        sent = await gateway.registration.register(pending_user.email, NEW_PASSWORD)

        assert sent.email == pending_user.email
        assert len(database.state.users) == 1
        assert len(mailer.sent) == mails_before + 1
        await gateway.verification.verify(
            pending_user.email, mailer.last_code_sent_to(pending_user.email), NEW_PASSWORD
        )
        await gateway.login.login(pending_user.email, NEW_PASSWORD)

    async def test_a_password_with_a_lone_surrogate_is_bad_input(self, gateway: WiredServices) -> None:
        # JSON lets a client send "\\ud800"; the answer must be InvalidInput, not a crash (HTTP 500).
        with pytest.raises(InvalidInput) as raised:
            await gateway.registration.register(ALICE, "pass\ud800word")
        assert [error.field for error in raised.value.errors] == ["password"]
