"""Which events each service writes to the audit log, and that a failed change writes none of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from domain.entities import AuditEvent, AuditEventType, Client
from domain.errors import InvalidCredentials, InvalidOtp, InvalidRefreshToken, RateLimited
from domain.rate_limiting import Rate
from domain.services.audit import AuditTrail
from domain.services.throttle import RateLimits
from tests.unit.gateway import ALICE, ALICE_PASSWORD, build_gateway

if TYPE_CHECKING:
    from domain.policy import AuthPolicy
    from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import PendingUser, VerifiedUser, WiredServices

PHONE = Client(ip="203.0.113.5", user_agent="Phone/1.0")


class TestAuditTrail:
    async def test_sign_up_writes_registered_code_sent_and_verify_succeeded(
        self, gateway: WiredServices, database: FakeDatabase, mailer: FakeMailer
    ) -> None:
        await gateway.registration.register(ALICE, ALICE_PASSWORD, client=PHONE)
        with pytest.raises(InvalidOtp):
            await gateway.verification.verify(
                ALICE, "000000" if mailer.last_code_sent_to(ALICE) != "000000" else "1" * 6, ALICE_PASSWORD, PHONE
            )
        await gateway.verification.verify(ALICE, mailer.last_code_sent_to(ALICE), ALICE_PASSWORD, PHONE)

        assert database.audit_events() == ["registered", "code_sent", "verify_failed", "verify_succeeded"]
        user = database.user_by_email(ALICE)
        assert user is not None
        assert {event.user_id for event in database.state.audit_events} == {user.id}
        assert {(event.client_ip, event.user_agent) for event in database.state.audit_events} == {
            ("203.0.113.5", "Phone/1.0")
        }

    async def test_login_failures_name_their_reason_but_not_the_address(
        self, gateway: WiredServices, database: FakeDatabase, verified_user: VerifiedUser
    ) -> None:
        for email in (verified_user.email, "nobody@example.com"):
            with pytest.raises(InvalidCredentials):
                await gateway.login.login(email, "wrong password", PHONE)
        failures = database.state.audit_events[-2:]
        assert [(e.type.value, e.detail) for e in failures] == [
            ("login_failed", "wrong_password"),
            ("login_failed", "unknown_account"),
        ]
        assert failures[1].user_id is None
        assert all("nobody" not in str(vars(e)) for e in database.state.audit_events)

    async def test_reuse_of_a_refresh_token_is_recorded_with_the_revocation(
        self, gateway: WiredServices, database: FakeDatabase, verified_user: VerifiedUser, clock: FixedClock
    ) -> None:
        from datetime import timedelta

        first = verified_user.signed_in.refresh_token
        await gateway.refresh.refresh(first, PHONE)
        clock.advance(timedelta(minutes=5))
        with pytest.raises(InvalidRefreshToken):
            await gateway.refresh.refresh(first, PHONE)
        assert database.audit_events()[-2:] == ["token_refreshed", "refresh_token_reused"]


class HeardEvents:
    """An ``AuditObserver`` that keeps what it hears."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def observe(self, event: AuditEvent) -> None:
        self.events.append(event)


class TestAuditObserver:
    async def test_hears_each_event_as_it_is_recorded(self, database: FakeDatabase, clock: FixedClock) -> None:
        heard = HeardEvents()
        trail = AuditTrail(database.unit_of_work, clock, heard)
        await trail.record_alone(AuditEventType.RATE_LIMITED, PHONE, detail="login:ip")
        async with database.unit_of_work() as uow:
            await trail.record(uow, AuditEventType.REFRESH_TOKEN_REUSED, PHONE)
            await uow.commit()
        assert [(event.type, event.detail) for event in heard.events] == [
            (AuditEventType.RATE_LIMITED, "login:ip"),
            (AuditEventType.REFRESH_TOKEN_REUSED, None),
        ]
        assert heard.events == database.state.audit_events


class TestRateLimitsInServices:
    @pytest.fixture
    def strict(
        self,
        database: FakeDatabase,
        mailer: FakeMailer,
        clock: FixedClock,
        password_hasher: CountingPasswordHasher,
        policy: AuthPolicy,
    ) -> WiredServices:
        one = Rate.parse("1/1h")
        limits = RateLimits(
            login_per_ip=one,
            verify_per_ip=one,
            register_per_ip=one,
            refresh_per_ip=one,
        )
        return build_gateway(database, mailer, clock, password_hasher, policy, limits)

    async def test_a_refused_login_spends_no_bcrypt_and_is_audited(
        self, strict: WiredServices, database: FakeDatabase, password_hasher: CountingPasswordHasher
    ) -> None:
        with pytest.raises(InvalidCredentials):
            await strict.login.login("someone@example.com", "wrong password", PHONE)
        checks = password_hasher.verifications + password_hasher.dummy_verifications
        with pytest.raises(RateLimited) as refused:
            await strict.login.login("someone@example.com", "wrong password", PHONE)
        assert refused.value.retry_after_seconds == 3600
        assert password_hasher.verifications + password_hasher.dummy_verifications == checks
        assert database.state.audit_events[-1].detail == "login:ip"

    async def test_a_client_without_a_known_address_is_not_limited_per_address(self, strict: WiredServices) -> None:
        for _ in range(3):
            with pytest.raises(InvalidCredentials):
                await strict.login.login("someone@example.com", "wrong password", Client())

    async def test_a_refused_sign_up_writes_and_mails_nothing(
        self, strict: WiredServices, database: FakeDatabase, mailer: FakeMailer, pending_user: PendingUser
    ) -> None:
        await strict.registration.register("bob@example.com", "a long enough passphrase", client=PHONE)
        sent = len(mailer.sent)
        with pytest.raises(RateLimited):
            await strict.registration.register("carol@example.com", "another long passphrase", client=PHONE)
        assert len(mailer.sent) == sent
        assert database.user_by_email("carol@example.com") is None
