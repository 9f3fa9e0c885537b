from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.entities import MailKind, OtpPurpose, OtpSent
from domain.errors import (
    InvalidCredentials,
    InvalidInput,
    InvalidOtp,
    OtpExpired,
    RateLimited,
    TooManyAttempts,
)
from tests.unit.gateway import BOB, BOB_PASSWORD, assert_still_signed_in, principal_of, sign_up

if TYPE_CHECKING:
    from domain.entities import Principal, SignedIn
    from domain.policy import AuthPolicy
    from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import VerifiedUser, WiredServices

NEW_EMAIL = "alice.liddell@wonderland.example"
CAROL = "carol@example.com"
CAROL_PASSWORD = "her own long passphrase"


@pytest.fixture
async def change_code(
    gateway: WiredServices, verified_user: VerifiedUser, principal: Principal, mailer: FakeMailer
) -> str:
    """The code a request to move Alice's account to ``NEW_EMAIL`` mailed there."""
    await gateway.email_change.request(principal, NEW_EMAIL, verified_user.password)
    return mailer.last_code_sent_to(NEW_EMAIL, MailKind.CHANGE_EMAIL)


@pytest.fixture
def wrong_change_code(change_code: str) -> str:
    """Six digits that are not ``change_code``."""
    return f"{(int(change_code) + 1) % 1_000_000:06d}"


@pytest.fixture
async def bob(gateway: WiredServices, mailer: FakeMailer) -> SignedIn:
    """Another person's verified account, signed in."""
    return await sign_up(gateway, mailer, BOB, BOB_PASSWORD)


def fields(raised: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [error.field for error in raised.value.errors]


class TestRequest:
    async def test_mails_a_code_to_the_new_address_at_once(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        mailer: FakeMailer,
        clock: FixedClock,
    ) -> None:
        sent = await gateway.email_change.request(principal, NEW_EMAIL, verified_user.password)

        # Sent within the request, not queued: the caller hears if it cannot go out.
        assert sent == OtpSent(email=NEW_EMAIL, expires_at=clock.now() + timedelta(minutes=10))
        assert mailer.kinds_sent_to(NEW_EMAIL) == [MailKind.CHANGE_EMAIL]
        assert mailer.sent_to(verified_user.email) == []

    async def test_the_account_keeps_its_address_until_the_code_comes_back(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        change_code: str,
        database: FakeDatabase,
    ) -> None:
        assert database.user_by_email(NEW_EMAIL) is None
        await gateway.login.login(verified_user.email, verified_user.password)
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(NEW_EMAIL, verified_user.password)

    async def test_stores_the_new_address_with_the_code(
        self, gateway: WiredServices, change_code: str, principal: Principal, database: FakeDatabase
    ) -> None:
        (challenge,) = database.state.challenges.values()
        assert (challenge.user_id, challenge.purpose, challenge.new_email) == (
            principal.user.id,
            OtpPurpose.CHANGE_EMAIL,
            NEW_EMAIL,
        )

    async def test_a_second_request_voids_the_first_code(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        change_code: str,
        mailer: FakeMailer,
    ) -> None:
        await gateway.email_change.request(principal, CAROL, verified_user.password)

        with pytest.raises(InvalidOtp):  # it now belongs to the move to Carol's address
            await gateway.email_change.confirm(principal, change_code)
        moved = await gateway.email_change.confirm(principal, mailer.last_code_sent_to(CAROL, MailKind.CHANGE_EMAIL))
        assert moved.email == CAROL

    async def test_a_wrong_password(
        self, gateway: WiredServices, principal: Principal, mailer: FakeMailer, database: FakeDatabase
    ) -> None:
        with pytest.raises(InvalidCredentials):
            await gateway.email_change.request(principal, NEW_EMAIL, "not my password")

        assert mailer.sent == []
        assert database.state.challenges == {}
        assert database.audit_events()[-1] == "password_check_failed"

    async def test_wrong_passwords_count_towards_the_sign_in_lockout(
        self, gateway: WiredServices, verified_user: VerifiedUser, principal: Principal, mailer: FakeMailer
    ) -> None:
        for _ in range(5):  # LockoutPolicy.free_failures
            with pytest.raises(InvalidCredentials):
                await gateway.email_change.request(principal, NEW_EMAIL, "not my password")

        with pytest.raises(RateLimited):
            await gateway.email_change.request(principal, NEW_EMAIL, verified_user.password)
        with pytest.raises(RateLimited):
            await gateway.login.login(verified_user.email, verified_user.password)
        assert mailer.sent == []

    @pytest.mark.parametrize("own_address", ["alice@example.com", "ALICE@EXAMPLE.COM", " Alice@Example.com "])
    async def test_the_accounts_own_address_whatever_its_case(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        password_hasher: CountingPasswordHasher,
        own_address: str,
    ) -> None:
        checks = password_hasher.verifications
        with pytest.raises(InvalidInput) as raised:
            await gateway.email_change.request(principal, own_address, verified_user.password)

        assert fields(raised) == ["new_email"]
        assert password_hasher.verifications == checks

    @pytest.mark.parametrize("new_email", ["", "alice", "alice@", "@example.com", "a b@example.com"])
    async def test_a_malformed_address(
        self, gateway: WiredServices, verified_user: VerifiedUser, principal: Principal, new_email: str
    ) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.email_change.request(principal, new_email, verified_user.password)
        assert fields(raised) == ["new_email"]

    async def test_an_empty_password_is_bad_input(self, gateway: WiredServices, principal: Principal) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.email_change.request(principal, NEW_EMAIL, "")
        assert fields(raised) == ["password"]

    async def test_another_verified_accounts_address_gets_a_notice_and_the_caller_the_same_answer(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        bob: SignedIn,
        mailer: FakeMailer,
        database: FakeDatabase,
        clock: FixedClock,
    ) -> None:
        mailer.sent.clear()

        sent = await gateway.email_change.request(principal, "BOB@example.com", verified_user.password)

        assert sent == OtpSent(email="BOB@example.com", expires_at=clock.now() + timedelta(minutes=10))
        (notice,) = mailer.sent_to(BOB)  # a notice that someone tried, never a code that would move Alice there
        assert (notice.kind, notice.code) == (MailKind.ADDRESS_IN_USE, None)
        assert database.state.challenges == {}
        assert database.state.audit_events[-1].detail == "address_taken"

    async def test_is_audited(
        self, gateway: WiredServices, change_code: str, principal: Principal, database: FakeDatabase
    ) -> None:
        assert database.audit_events()[-2:] == ["code_sent", "email_change_requested"]
        assert database.state.audit_events[-1].user_id == principal.user.id
        assert all(NEW_EMAIL not in str(vars(event)) for event in database.state.audit_events)


class TestConfirm:
    async def test_moves_the_account_to_the_new_address(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        change_code: str,
        database: FakeDatabase,
    ) -> None:
        moved = await gateway.email_change.confirm(principal, change_code)

        assert (moved.id, moved.email, moved.email_verified) == (principal.user.id, NEW_EMAIL, True)
        stored = database.state.users[principal.user.id]
        assert (stored.email, stored.email_verified) == (NEW_EMAIL, True)
        await gateway.login.login(NEW_EMAIL, verified_user.password)
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(verified_user.email, verified_user.password)

    async def test_keeps_the_sessions(
        self, gateway: WiredServices, signed_in: SignedIn, principal: Principal, change_code: str
    ) -> None:
        await gateway.email_change.confirm(principal, change_code)

        assert (await principal_of(gateway, signed_in)).user.email == NEW_EMAIL
        await assert_still_signed_in(gateway, signed_in)

    async def test_both_addresses_get_a_notice_naming_the_other(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        change_code: str,
        mailer: FakeMailer,
    ) -> None:
        await gateway.email_change.confirm(principal, change_code)

        (notice,) = mailer.sent_to(verified_user.email)
        assert (notice.kind, notice.new_email, notice.code) == (MailKind.EMAIL_CHANGED, NEW_EMAIL, None)
        assert mailer.kinds_sent_to(NEW_EMAIL) == [MailKind.CHANGE_EMAIL, MailKind.EMAIL_CHANGED]
        here = mailer.sent_to(NEW_EMAIL)[-1]
        assert (here.old_email, here.new_email, here.code) == (verified_user.email, None, None)

    async def test_a_reset_code_mailed_to_the_old_address_stops_working(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        change_code: str,
        mailer: FakeMailer,
    ) -> None:
        await gateway.password_reset.request(verified_user.email)
        reset_code = mailer.last_code_sent_to(verified_user.email, MailKind.RESET_PASSWORD)

        await gateway.email_change.confirm(principal, change_code)

        # Whoever reads the old mailbox holds this code, and the notice sent there names the new address.
        with pytest.raises(InvalidOtp):
            await gateway.password_reset.reset(NEW_EMAIL, reset_code, "a takeover passphrase")

    async def test_is_audited(
        self, gateway: WiredServices, principal: Principal, change_code: str, database: FakeDatabase
    ) -> None:
        await gateway.email_change.confirm(principal, change_code)

        last = database.state.audit_events[-1]
        assert (last.type.value, last.user_id) == ("email_changed", principal.user.id)

    async def test_a_code_works_once(
        self, gateway: WiredServices, principal: Principal, change_code: str, database: FakeDatabase
    ) -> None:
        await gateway.email_change.confirm(principal, change_code)

        assert database.state.challenges == {}
        with pytest.raises(InvalidOtp):
            await gateway.email_change.confirm(principal, change_code)

    async def test_a_wrong_code_counts_a_try_and_moves_nothing(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        wrong_change_code: str,
        database: FakeDatabase,
    ) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.email_change.confirm(principal, wrong_change_code)

        assert len(database.state.challenges) == 1  # still pending: four more tries
        assert database.state.users[principal.user.id].email == verified_user.email
        last = database.state.audit_events[-1]
        assert (last.type.value, last.detail) == ("email_change_failed", "InvalidOtp")

    async def test_the_fifth_wrong_code_locks_the_code(
        self, gateway: WiredServices, principal: Principal, change_code: str, wrong_change_code: str
    ) -> None:
        for _ in range(4):
            with pytest.raises(InvalidOtp):
                await gateway.email_change.confirm(principal, wrong_change_code)
        with pytest.raises(TooManyAttempts):
            await gateway.email_change.confirm(principal, wrong_change_code)
        with pytest.raises(TooManyAttempts):
            await gateway.email_change.confirm(principal, change_code)

    async def test_an_expired_code(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        change_code: str,
        clock: FixedClock,
        policy: AuthPolicy,
        database: FakeDatabase,
    ) -> None:
        clock.advance(policy.otp_lifetime)
        with pytest.raises(OtpExpired):
            await gateway.email_change.confirm(principal, change_code)
        assert database.state.users[principal.user.id].email == verified_user.email

    async def test_no_change_pending(self, gateway: WiredServices, principal: Principal) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.email_change.confirm(principal, "123456")

    async def test_another_accounts_code_does_not_move_this_one(
        self, gateway: WiredServices, change_code: str, bob: SignedIn, database: FakeDatabase
    ) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.email_change.confirm(await principal_of(gateway, bob), change_code)
        assert database.state.users[bob.user.id].email == BOB

    @pytest.mark.parametrize("code", ["abcdef", "12345", ""])
    async def test_a_malformed_code_is_bad_input_and_costs_no_try(
        self, gateway: WiredServices, principal: Principal, change_code: str, code: str
    ) -> None:
        for _ in range(5):
            with pytest.raises(InvalidInput) as raised:
                await gateway.email_change.confirm(principal, code)
            assert fields(raised) == ["code"]
        await gateway.email_change.confirm(principal, change_code)

    async def test_removes_a_pending_account_waiting_on_the_new_address(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        mailer: FakeMailer,
        database: FakeDatabase,
    ) -> None:
        await gateway.registration.register(CAROL, CAROL_PASSWORD)
        carols_code = mailer.last_code_sent_to(CAROL)
        await gateway.email_change.request(principal, CAROL, verified_user.password)
        code = mailer.last_code_sent_to(CAROL, MailKind.CHANGE_EMAIL)

        await gateway.email_change.confirm(principal, code)

        assert [user.email for user in database.state.users.values()] == [CAROL]
        assert database.state.users[principal.user.id].email == CAROL
        with pytest.raises(InvalidOtp):  # the pending account's code went with it
            await gateway.verification.verify(CAROL, carols_code, CAROL_PASSWORD)
        await gateway.login.login(CAROL, verified_user.password)

    async def test_an_address_another_account_verified_meanwhile(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        mailer: FakeMailer,
        database: FakeDatabase,
    ) -> None:
        await gateway.email_change.request(principal, CAROL, verified_user.password)
        code = mailer.last_code_sent_to(CAROL, MailKind.CHANGE_EMAIL)
        carol = await sign_up(gateway, mailer, CAROL, CAROL_PASSWORD)

        with pytest.raises(InvalidInput) as raised:
            await gateway.email_change.confirm(principal, code)

        assert fields(raised) == ["new_email"]
        assert database.state.users[principal.user.id].email == verified_user.email
        assert database.state.users[carol.user.id].email == CAROL
        await gateway.login.login(CAROL, CAROL_PASSWORD)
