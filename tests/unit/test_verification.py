from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.errors import InvalidInput, InvalidOtp, OtpExpired, TooManyAttempts

if TYPE_CHECKING:
    from tests.unit.fakes import FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import PendingUser, VerifiedUser, WiredServices


@pytest.fixture
def wrong_code(pending_user: PendingUser) -> str:
    """Six digits that are not the code mailed to ``pending_user``."""
    return f"{(int(pending_user.code) + 1) % 1_000_000:06d}"


class TestVerify:
    async def test_the_right_code_confirms_the_address_and_signs_in(
        self, gateway: WiredServices, pending_user: PendingUser, database: FakeDatabase
    ) -> None:
        signed_in = await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

        assert signed_in.user.email == pending_user.email
        assert signed_in.user.email_verified
        stored = database.user_by_email(pending_user.email)
        assert stored is not None
        assert stored.email_verified
        claims = gateway.identity.read_access_token(signed_in.access_token)
        assert (claims.user_id, claims.session_id) == (stored.id, signed_in.session_id)
        refreshed = await gateway.refresh.refresh(signed_in.refresh_token)
        assert refreshed.session_id == signed_in.session_id

    async def test_the_address_is_matched_whatever_its_case(
        self, gateway: WiredServices, pending_user: PendingUser
    ) -> None:
        signed_in = await gateway.verification.verify(
            f"  {pending_user.email.upper()} ", pending_user.code, pending_user.password
        )
        assert signed_in.user.email == pending_user.email

    async def test_surrounding_space_around_the_code_is_ignored(
        self, gateway: WiredServices, pending_user: PendingUser
    ) -> None:
        await gateway.verification.verify(pending_user.email, f" {pending_user.code}\n", pending_user.password)

    async def test_a_code_works_once(
        self, gateway: WiredServices, pending_user: PendingUser, database: FakeDatabase
    ) -> None:
        await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

        assert database.state.challenges == {}
        with pytest.raises(InvalidOtp):
            await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

    async def test_unknown_address(self, gateway: WiredServices, pending_user: PendingUser) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.verification.verify("bob@example.com", pending_user.code, pending_user.password)

    async def test_wrong_code(
        self, gateway: WiredServices, pending_user: PendingUser, wrong_code: str, database: FakeDatabase
    ) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.verification.verify(pending_user.email, wrong_code, pending_user.password)

        stored = database.user_by_email(pending_user.email)
        assert stored is not None
        assert not stored.email_verified

    async def test_an_address_already_verified(self, gateway: WiredServices, verified_user: VerifiedUser) -> None:
        with pytest.raises(InvalidOtp):
            await gateway.verification.verify(verified_user.email, "123456", verified_user.password)

    async def test_an_expired_code(self, gateway: WiredServices, pending_user: PendingUser, clock: FixedClock) -> None:
        clock.advance(timedelta(minutes=10))
        with pytest.raises(OtpExpired):
            await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

    async def test_a_code_still_works_just_before_it_expires(
        self, gateway: WiredServices, pending_user: PendingUser, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
        await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

    async def test_four_wrong_tries_leave_the_code_usable(
        self, gateway: WiredServices, pending_user: PendingUser, wrong_code: str
    ) -> None:
        for _ in range(4):
            with pytest.raises(InvalidOtp):
                await gateway.verification.verify(pending_user.email, wrong_code, pending_user.password)
        await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

    async def test_the_fifth_wrong_try_locks_the_code(
        self, gateway: WiredServices, pending_user: PendingUser, wrong_code: str
    ) -> None:
        for _ in range(4):
            with pytest.raises(InvalidOtp):
                await gateway.verification.verify(pending_user.email, wrong_code, pending_user.password)
        with pytest.raises(TooManyAttempts):
            await gateway.verification.verify(pending_user.email, wrong_code, pending_user.password)
        with pytest.raises(TooManyAttempts):
            await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

    async def test_a_new_code_after_a_lockout_works(
        self, gateway: WiredServices, pending_user: PendingUser, wrong_code: str, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        for _ in range(5):
            with pytest.raises((InvalidOtp, TooManyAttempts)):
                await gateway.verification.verify(pending_user.email, wrong_code, pending_user.password)

        clock.advance(timedelta(minutes=1))  # the cooldown of the first code
        await gateway.registration.register(pending_user.email, pending_user.password)
        await gateway.verification.verify(
            pending_user.email, mailer.last_code_sent_to(pending_user.email), pending_user.password
        )

    async def test_a_new_code_voids_the_previous_one(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(minutes=1))  # past the cooldown: signing up again mails a new code
        await gateway.registration.register(pending_user.email, pending_user.password)
        assert len(mailer.codes_sent_to(pending_user.email)) == 2
        new_code = mailer.last_code_sent_to(pending_user.email)
        if new_code == pending_user.code:  # one chance in a million; nothing to tell apart
            pytest.skip("the new code happens to equal the old one")

        with pytest.raises(InvalidOtp):
            await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)
        await gateway.verification.verify(pending_user.email, new_code, pending_user.password)

    @pytest.mark.parametrize("code", ["abcdef", "12345", "1234567", "12 345", "١٢٣٤٥٦", ""])
    async def test_a_malformed_code_is_bad_input_and_costs_no_try(
        self, gateway: WiredServices, pending_user: PendingUser, code: str
    ) -> None:
        for _ in range(5):
            with pytest.raises(InvalidInput) as raised:
                await gateway.verification.verify(pending_user.email, code, pending_user.password)
            assert [error.field for error in raised.value.errors] == ["code"]
        await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)

    async def test_a_malformed_address_is_bad_input(self, gateway: WiredServices, pending_user: PendingUser) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.verification.verify("alice", "12345", "short")
        assert [error.field for error in raised.value.errors] == ["email", "code", "password"]
