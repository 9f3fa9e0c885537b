from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.entities import MailKind, OtpSent
from domain.errors import InvalidInput, InvalidOtp, RateLimited
from domain.rate_limiting import Rate
from domain.services.throttle import RateLimits
from tests.unit.gateway import build_gateway

if TYPE_CHECKING:
    from domain.policy import AuthPolicy
    from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import PendingUser, VerifiedUser, WiredServices

COOLDOWN = timedelta(seconds=60)
UNKNOWN = "nobody@example.com"


@pytest.fixture
def cooled_down(pending_user: PendingUser, clock: FixedClock) -> PendingUser:
    """``pending_user``, a full cooldown after registration mailed the first code."""
    clock.advance(COOLDOWN)
    return pending_user


@pytest.fixture
def two_codes_an_hour(
    database: FakeDatabase,
    mailer: FakeMailer,
    clock: FixedClock,
    password_hasher: CountingPasswordHasher,
    policy: AuthPolicy,
) -> WiredServices:
    """The same accounts, served with a budget of two mailed codes per address per hour."""
    limits = RateLimits(codes_per_account=Rate(2, timedelta(hours=1)))
    return build_gateway(database, mailer, clock, password_hasher, policy, limits)


class TestResendCode:
    async def test_a_pending_account_gets_a_new_code_and_the_old_one_stops_working(
        self, gateway: WiredServices, cooled_down: PendingUser, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        sent = await gateway.registration.resend_code(cooled_down.email)

        assert sent == OtpSent(email=cooled_down.email, expires_at=clock.now() + timedelta(minutes=10))
        codes = mailer.codes_sent_to(cooled_down.email, MailKind.VERIFY_EMAIL)
        assert len(codes) == 2
        new_code = codes[-1]
        if new_code == cooled_down.code:  # one chance in a million; nothing to tell apart
            pytest.skip("the new code happens to equal the old one")
        with pytest.raises(InvalidOtp):
            await gateway.verification.verify(cooled_down.email, cooled_down.code, cooled_down.password)
        await gateway.verification.verify(cooled_down.email, new_code, cooled_down.password)

    async def test_the_address_is_matched_whatever_its_case(
        self, gateway: WiredServices, cooled_down: PendingUser, mailer: FakeMailer
    ) -> None:
        await gateway.registration.resend_code(f" {cooled_down.email.upper()} ")

        assert len(mailer.codes_sent_to(cooled_down.email.upper().replace("EXAMPLE.COM", "example.com"))) == 1

    async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
        self, gateway: WiredServices, cooled_down: PendingUser, mailer: FakeMailer
    ) -> None:
        for_alice = await gateway.registration.resend_code(cooled_down.email)
        for_nobody = await gateway.registration.resend_code(UNKNOWN)

        assert for_nobody == OtpSent(email=UNKNOWN, expires_at=for_alice.expires_at)
        assert mailer.sent_to(UNKNOWN) == []

    async def test_a_verified_address_gets_the_same_answer_and_no_mail(
        self, gateway: WiredServices, verified_user: VerifiedUser, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        clock.advance(COOLDOWN)
        sent = await gateway.registration.resend_code(verified_user.email)

        assert sent == OtpSent(email=verified_user.email, expires_at=clock.now() + timedelta(minutes=10))
        assert mailer.sent == []

    async def test_the_cooldown_counts_from_the_code_mailed_at_registration(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        with pytest.raises(RateLimited) as refused:
            await gateway.registration.resend_code(pending_user.email)
        assert refused.value.retry_after_seconds == 60

        clock.advance(COOLDOWN - timedelta(seconds=1))
        with pytest.raises(RateLimited) as refused:
            await gateway.registration.resend_code(pending_user.email)
        assert refused.value.retry_after_seconds == 1

        clock.advance(timedelta(seconds=1))
        await gateway.registration.resend_code(pending_user.email)
        assert len(mailer.codes_sent_to(pending_user.email)) == 2

    async def test_each_resend_starts_the_cooldown_again(
        self, gateway: WiredServices, cooled_down: PendingUser, clock: FixedClock
    ) -> None:
        await gateway.registration.resend_code(cooled_down.email)

        clock.advance(COOLDOWN / 2)
        with pytest.raises(RateLimited) as refused:
            await gateway.registration.resend_code(cooled_down.email)
        assert refused.value.retry_after_seconds == 30

    async def test_an_unknown_address_has_the_same_cooldown(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        await gateway.registration.resend_code(UNKNOWN)
        with pytest.raises(RateLimited) as for_nobody:
            await gateway.registration.resend_code(UNKNOWN)
        with pytest.raises(RateLimited) as for_alice:
            await gateway.registration.resend_code(pending_user.email)

        assert for_nobody.value.retry_after_seconds == for_alice.value.retry_after_seconds == 60
        clock.advance(COOLDOWN)
        await gateway.registration.resend_code(UNKNOWN)

    async def test_a_refused_resend_mails_nothing(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer
    ) -> None:
        with pytest.raises(RateLimited):
            await gateway.registration.resend_code(pending_user.email)

        assert mailer.codes_sent_to(pending_user.email) == [pending_user.code]
        await gateway.verification.verify(
            pending_user.email, pending_user.code, pending_user.password
        )  # still the valid one

    async def test_the_codes_per_address_budget_includes_registration(
        self, two_codes_an_hour: WiredServices, mailer: FakeMailer, clock: FixedClock
    ) -> None:
        await two_codes_an_hour.registration.register("carol@example.com", "a long enough passphrase")
        clock.advance(COOLDOWN)
        await two_codes_an_hour.registration.resend_code("carol@example.com")

        clock.advance(COOLDOWN)
        with pytest.raises(RateLimited) as refused:
            await two_codes_an_hour.registration.resend_code("carol@example.com")

        # Two per hour: the third waits until the first has aged out of the window.
        assert refused.value.retry_after_seconds == 28 * 60
        assert len(mailer.codes_sent_to("carol@example.com")) == 2

    async def test_an_unknown_address_spends_the_same_budget(
        self, two_codes_an_hour: WiredServices, clock: FixedClock
    ) -> None:
        await two_codes_an_hour.registration.resend_code(UNKNOWN)
        clock.advance(COOLDOWN)
        await two_codes_an_hour.registration.resend_code(UNKNOWN)

        clock.advance(COOLDOWN)
        with pytest.raises(RateLimited) as refused:
            await two_codes_an_hour.registration.resend_code(UNKNOWN)
        assert refused.value.retry_after_seconds == 28 * 60

    @pytest.mark.parametrize("email", ["", "alice", "alice@", "@example.com", "a" * 250 + "@example.com"])
    async def test_a_malformed_address_is_bad_input(
        self, gateway: WiredServices, mailer: FakeMailer, email: str
    ) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.registration.resend_code(email)

        assert [error.field for error in raised.value.errors] == ["email"]
        assert mailer.sent == []
