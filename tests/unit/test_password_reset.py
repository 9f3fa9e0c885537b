from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.entities import MailKind, OtpPurpose, OtpSent
from domain.errors import InvalidCredentials, InvalidInput, InvalidOtp, OtpExpired, RateLimited, TooManyAttempts
from domain.rate_limiting import LockoutPolicy
from domain.services.throttle import RateLimits
from tests.unit.gateway import (
    BOB,
    BOB_PASSWORD,
    assert_signed_out,
    assert_still_signed_in,
    build_gateway,
    sign_up,
    signed,
)

if TYPE_CHECKING:
    from domain.policy import AuthPolicy
    from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import PendingUser, VerifiedUser, WiredServices

NEW_PASSWORD = "a freshly chosen passphrase"
UNKNOWN = "nobody@example.com"


@pytest.fixture
async def reset_code(gateway: WiredServices, verified_user: VerifiedUser, mailer: FakeMailer) -> str:
    """The code a reset request for Alice's address mailed to her."""
    await gateway.password_reset.request(verified_user.email)
    return mailer.last_code_sent_to(verified_user.email, MailKind.RESET_PASSWORD)


@pytest.fixture
def wrong_reset_code(reset_code: str) -> str:
    """Six digits that are not ``reset_code``."""
    return f"{(int(reset_code) + 1) % 1_000_000:06d}"


@pytest.fixture
def locking_gateway(
    database: FakeDatabase,
    mailer: FakeMailer,
    clock: FixedClock,
    password_hasher: CountingPasswordHasher,
    policy: AuthPolicy,
) -> WiredServices:
    """The same accounts, locked after two failed sign-ins in a row (the second after a 30 s wait)."""
    lockout = LockoutPolicy(free_failures=1, first_delay=timedelta(seconds=30), hard_limit=2)
    return build_gateway(database, mailer, clock, password_hasher, policy, RateLimits(lockout=lockout))


class TestRequest:
    async def test_mails_a_reset_code_to_a_known_address(
        self, gateway: WiredServices, verified_user: VerifiedUser, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        sent = await gateway.password_reset.request(verified_user.email)

        assert sent == OtpSent(email=verified_user.email, expires_at=clock.now() + timedelta(minutes=10))
        assert mailer.kinds_sent_to(verified_user.email) == [MailKind.RESET_PASSWORD]
        (mail,) = mailer.sent
        assert mail.code_lifetime_seconds == 10 * 60

    async def test_the_address_is_matched_whatever_its_case(
        self, gateway: WiredServices, verified_user: VerifiedUser, mailer: FakeMailer
    ) -> None:
        await gateway.password_reset.request(" ALICE@Example.COM ")

        # to the address as typed: a code never goes to a spelling nobody asked for
        assert mailer.kinds_sent_to("ALICE@example.com") == [MailKind.RESET_PASSWORD]

    async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
        self, gateway: WiredServices, verified_user: VerifiedUser, mailer: FakeMailer
    ) -> None:
        for_alice = await gateway.password_reset.request(verified_user.email)
        for_nobody = await gateway.password_reset.request(UNKNOWN)

        assert for_nobody == OtpSent(email=UNKNOWN, expires_at=for_alice.expires_at)
        assert [mail.to for mail in mailer.sent] == [verified_user.email]

    async def test_a_pending_account_gets_a_code_too(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer
    ) -> None:
        await gateway.password_reset.request(pending_user.email)

        assert mailer.kinds_sent_to(pending_user.email) == [MailKind.VERIFY_EMAIL, MailKind.RESET_PASSWORD]

    async def test_is_audited(
        self, gateway: WiredServices, verified_user: VerifiedUser, database: FakeDatabase
    ) -> None:
        await gateway.password_reset.request(verified_user.email)

        assert database.audit_events()[-2:] == ["code_sent", "password_reset_requested"]
        assert database.state.audit_events[-1].user_id == verified_user.signed_in.user.id

    async def test_an_unknown_address_stores_nothing(self, gateway: WiredServices, database: FakeDatabase) -> None:
        await gateway.password_reset.request(UNKNOWN)

        assert database.audit_events() == []
        assert database.state.challenges == {}

    async def test_a_malformed_address_is_bad_input(self, gateway: WiredServices) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.password_reset.request("alice")
        assert [error.field for error in raised.value.errors] == ["email"]


class TestReset:
    async def test_sets_the_new_password(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str
    ) -> None:
        await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

        await gateway.login.login(verified_user.email, NEW_PASSWORD)
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(verified_user.email, verified_user.password)

    async def test_signs_in_with_a_new_session(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str
    ) -> None:
        signed_in = signed(await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD))

        assert signed_in.user.id == verified_user.signed_in.user.id
        assert signed_in.session_id != verified_user.signed_in.session_id
        await assert_still_signed_in(gateway, signed_in)

    async def test_ends_every_earlier_session(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str
    ) -> None:
        laptop = signed(await gateway.login.login(verified_user.email, verified_user.password))

        await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

        await assert_signed_out(gateway, verified_user.signed_in)
        await assert_signed_out(gateway, laptop)

    async def test_leaves_other_accounts_signed_in(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str, mailer: FakeMailer
    ) -> None:
        bob = await sign_up(gateway, mailer, BOB, BOB_PASSWORD)

        await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

        await assert_still_signed_in(gateway, bob)

    async def test_confirms_a_pending_address(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer, database: FakeDatabase
    ) -> None:
        await gateway.password_reset.request(pending_user.email)
        code = mailer.last_code_sent_to(pending_user.email, MailKind.RESET_PASSWORD)

        signed_in = signed(await gateway.password_reset.reset(pending_user.email, code, NEW_PASSWORD))

        assert signed_in.user.email_verified
        stored = database.user_by_email(pending_user.email)
        assert stored is not None
        assert stored.email_verified
        await gateway.login.login(pending_user.email, NEW_PASSWORD)

    async def test_ends_a_sign_in_lockout(
        self, locking_gateway: WiredServices, verified_user: VerifiedUser, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        with pytest.raises(InvalidCredentials):
            await locking_gateway.login.login(verified_user.email, "a wrong guess")
        clock.advance(timedelta(seconds=30))
        with pytest.raises(InvalidCredentials):
            await locking_gateway.login.login(verified_user.email, "another wrong guess")
        with pytest.raises(RateLimited) as refused:
            await locking_gateway.login.login(verified_user.email, verified_user.password)
        assert refused.value.locked

        await locking_gateway.password_reset.request(verified_user.email)
        code = mailer.last_code_sent_to(verified_user.email, MailKind.RESET_PASSWORD)
        await locking_gateway.password_reset.reset(verified_user.email, code, NEW_PASSWORD)

        await locking_gateway.login.login(verified_user.email, NEW_PASSWORD)

    async def test_mails_a_notice_of_the_change(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str, mailer: FakeMailer
    ) -> None:
        await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

        assert mailer.kinds_sent_to(verified_user.email)[-1] == MailKind.PASSWORD_CHANGED

    async def test_a_code_works_once(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str, database: FakeDatabase
    ) -> None:
        await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

        assert database.state.challenges == {}
        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(verified_user.email, reset_code, "yet another passphrase")
        await gateway.login.login(verified_user.email, NEW_PASSWORD)

    async def test_a_new_request_voids_the_previous_code(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str, mailer: FakeMailer
    ) -> None:
        await gateway.password_reset.request(verified_user.email)
        new_code = mailer.last_code_sent_to(verified_user.email, MailKind.RESET_PASSWORD)
        if new_code == reset_code:  # one chance in a million; nothing to tell apart
            pytest.skip("the new code happens to equal the old one")

        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)
        await gateway.password_reset.reset(verified_user.email, new_code, NEW_PASSWORD)

    async def test_a_verification_code_is_no_reset_code(
        self, gateway: WiredServices, pending_user: PendingUser
    ) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(pending_user.email, pending_user.code, NEW_PASSWORD)

    async def test_wrong_code_counts_a_try_and_changes_nothing(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        wrong_reset_code: str,
        database: FakeDatabase,
    ) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(verified_user.email, wrong_reset_code, NEW_PASSWORD)

        (challenge,) = database.state.challenges.values()
        assert challenge.purpose == OtpPurpose.RESET_PASSWORD  # still pending: four more tries
        await gateway.login.login(verified_user.email, verified_user.password)
        await assert_still_signed_in(gateway, verified_user.signed_in)

    async def test_the_fifth_wrong_code_locks_the_code(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str, wrong_reset_code: str
    ) -> None:
        for _ in range(4):
            with pytest.raises(InvalidOtp):
                await gateway.password_reset.reset(verified_user.email, wrong_reset_code, NEW_PASSWORD)
        with pytest.raises(TooManyAttempts):
            await gateway.password_reset.reset(verified_user.email, wrong_reset_code, NEW_PASSWORD)
        with pytest.raises(TooManyAttempts):
            await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

    async def test_an_expired_code(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        reset_code: str,
        clock: FixedClock,
        policy: AuthPolicy,
    ) -> None:
        clock.advance(policy.otp_lifetime)
        with pytest.raises(OtpExpired):
            await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)
        await gateway.login.login(verified_user.email, verified_user.password)

    async def test_a_code_still_works_just_before_it_expires(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        reset_code: str,
        clock: FixedClock,
        policy: AuthPolicy,
    ) -> None:
        clock.advance(policy.otp_lifetime - timedelta(seconds=1))
        await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

    @pytest.mark.parametrize(
        "weak_password",
        ["password1", "short", "my alice@example.com password", "alice-in-wonderland"],
        ids=["common", "too short", "contains the address", "contains the name part"],
    )
    async def test_a_weak_new_password_is_bad_input_and_spends_no_code(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str, weak_password: str
    ) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.password_reset.reset(verified_user.email, reset_code, weak_password)

        assert [error.field for error in raised.value.errors] == ["new_password"]
        await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

    async def test_an_unknown_address(self, gateway: WiredServices, reset_code: str) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(UNKNOWN, reset_code, NEW_PASSWORD)

    async def test_no_reset_pending(self, gateway: WiredServices, verified_user: VerifiedUser) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(verified_user.email, "123456", NEW_PASSWORD)

    async def test_success_is_audited(
        self, gateway: WiredServices, verified_user: VerifiedUser, reset_code: str, database: FakeDatabase
    ) -> None:
        await gateway.password_reset.reset(verified_user.email, reset_code, NEW_PASSWORD)

        last = database.state.audit_events[-1]
        assert (last.type.value, last.user_id) == ("password_reset", verified_user.signed_in.user.id)

    async def test_a_failure_is_audited_with_its_reason(
        self, gateway: WiredServices, verified_user: VerifiedUser, wrong_reset_code: str, database: FakeDatabase
    ) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(verified_user.email, wrong_reset_code, NEW_PASSWORD)
        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(UNKNOWN, wrong_reset_code, NEW_PASSWORD)

        failures = [event for event in database.state.audit_events if event.type.value == "password_reset_failed"]
        assert [(event.user_id, event.detail) for event in failures] == [
            (verified_user.signed_in.user.id, "InvalidOtp"),
            (None, "InvalidOtp"),
        ]
