from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.errors import InvalidRefreshToken, SessionNotFound
from tests.unit.gateway import (
    BOB,
    BOB_PASSWORD,
    assert_signed_out,
    assert_still_signed_in,
    principal_of,
    sign_up,
    signed,
)

if TYPE_CHECKING:
    from domain.entities import Principal, SignedIn
    from tests.unit.fakes import FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import VerifiedUser, WiredServices


@pytest.fixture
async def laptop(
    gateway: WiredServices, verified_user: VerifiedUser, signed_in: SignedIn, clock: FixedClock
) -> SignedIn:
    """Alice signing in on a second device, a minute after her first session began."""
    clock.advance(timedelta(minutes=1))
    return signed(await gateway.login.login(verified_user.email, verified_user.password))


@pytest.fixture
async def bob(gateway: WiredServices, mailer: FakeMailer) -> SignedIn:
    """Another person's verified account, signed in."""
    return await sign_up(gateway, mailer, BOB, BOB_PASSWORD)


async def live_ids(gateway: WiredServices, principal: Principal) -> list[uuid.UUID]:
    return [session.id for session in await gateway.sessions.list_live(principal)]


class TestListLive:
    async def test_most_recently_used_first(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        signed_in: SignedIn,
        laptop: SignedIn,
        principal: Principal,
        clock: FixedClock,
    ) -> None:
        clock.advance(timedelta(minutes=1))
        phone = signed(await gateway.login.login(verified_user.email, verified_user.password))
        clock.advance(timedelta(minutes=1))
        await gateway.refresh.refresh(signed_in.refresh_token)  # the first device is used again

        assert await live_ids(gateway, principal) == [signed_in.session_id, phone.session_id, laptop.session_id]

    async def test_describes_each_session(
        self, gateway: WiredServices, signed_in: SignedIn, principal: Principal, clock: FixedClock
    ) -> None:
        (session,) = await gateway.sessions.list_live(principal)

        assert session.id == signed_in.session_id
        assert session.user_id == signed_in.user.id
        assert session.created_at == session.last_used_at == clock.now()

    async def test_leaves_out_revoked_sessions(
        self, gateway: WiredServices, signed_in: SignedIn, laptop: SignedIn, principal: Principal
    ) -> None:
        await gateway.sessions.revoke(principal, laptop.session_id)

        assert await live_ids(gateway, principal) == [signed_in.session_id]

    async def test_leaves_out_sessions_idle_too_long(
        self, gateway: WiredServices, signed_in: SignedIn, laptop: SignedIn, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(days=14) - timedelta(seconds=1))
        kept = await gateway.refresh.refresh(laptop.refresh_token)
        clock.advance(timedelta(seconds=61))  # the first session is now idle for 14 days and a minute

        assert await live_ids(gateway, await principal_of(gateway, kept)) == [laptop.session_id]

    async def test_agrees_with_refresh_at_the_instant_the_idle_lifetime_ends(
        self, gateway: WiredServices, signed_in: SignedIn, laptop: SignedIn, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(days=14) - timedelta(minutes=1))  # the first session: idle exactly 14 days
        kept = await gateway.refresh.refresh(laptop.refresh_token)
        with pytest.raises(InvalidRefreshToken):
            await gateway.refresh.refresh(signed_in.refresh_token)

        assert await live_ids(gateway, await principal_of(gateway, kept)) == [laptop.session_id]

    async def test_leaves_out_sessions_past_their_absolute_lifetime(
        self, gateway: WiredServices, verified_user: VerifiedUser, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        refresh_token = signed_in.refresh_token
        for _ in range(29):
            clock.advance(timedelta(days=1))
            refresh_token = (await gateway.refresh.refresh(refresh_token)).refresh_token
        clock.advance(timedelta(days=1))  # used yesterday, but 30 days old
        later = signed(await gateway.login.login(verified_user.email, verified_user.password))

        assert await live_ids(gateway, await principal_of(gateway, later)) == [later.session_id]

    async def test_only_the_accounts_own(
        self, gateway: WiredServices, signed_in: SignedIn, principal: Principal, bob: SignedIn
    ) -> None:
        assert await live_ids(gateway, principal) == [signed_in.session_id]
        assert await live_ids(gateway, await principal_of(gateway, bob)) == [bob.session_id]


class TestLogout:
    async def test_ends_only_the_current_session(
        self, gateway: WiredServices, signed_in: SignedIn, laptop: SignedIn, principal: Principal
    ) -> None:
        ended = await gateway.sessions.logout(principal)

        assert ended == 1
        await assert_signed_out(gateway, signed_in)
        await assert_still_signed_in(gateway, laptop)

    async def test_a_second_logout_finds_no_session(
        self, gateway: WiredServices, signed_in: SignedIn, principal: Principal
    ) -> None:
        await gateway.sessions.logout(principal)
        with pytest.raises(SessionNotFound):
            await gateway.sessions.logout(principal)

    async def test_is_audited(self, gateway: WiredServices, principal: Principal, database: FakeDatabase) -> None:
        await gateway.sessions.logout(principal)

        last = database.state.audit_events[-1]
        assert (last.type.value, last.user_id) == ("logged_out", principal.user.id)


class TestLogoutEverywhere:
    async def test_ends_every_session_of_the_account_and_says_how_many(
        self, gateway: WiredServices, signed_in: SignedIn, laptop: SignedIn, principal: Principal, bob: SignedIn
    ) -> None:
        ended = await gateway.sessions.logout_everywhere(principal)

        assert ended == 2
        await assert_signed_out(gateway, signed_in)
        await assert_signed_out(gateway, laptop)
        await assert_still_signed_in(gateway, bob)

    async def test_counts_only_the_sessions_that_were_still_live(
        self, gateway: WiredServices, verified_user: VerifiedUser, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(days=15))  # the first session has been idle too long: it ended by itself
        later = signed(await gateway.login.login(verified_user.email, verified_user.password))
        principal = await principal_of(gateway, later)
        assert await live_ids(gateway, principal) == [later.session_id]

        assert await gateway.sessions.logout_everywhere(principal) == 1

    async def test_is_audited_with_the_count(
        self, gateway: WiredServices, laptop: SignedIn, principal: Principal, database: FakeDatabase
    ) -> None:
        await gateway.sessions.logout_everywhere(principal)

        last = database.state.audit_events[-1]
        assert (last.type.value, last.user_id, last.detail) == ("logged_out", principal.user.id, "all:2")


class TestRevoke:
    async def test_ends_another_session_of_the_account(
        self, gateway: WiredServices, signed_in: SignedIn, laptop: SignedIn, principal: Principal
    ) -> None:
        revoked = await gateway.sessions.revoke(principal, laptop.session_id)

        assert revoked == laptop.session_id
        await assert_signed_out(gateway, laptop)
        await assert_still_signed_in(gateway, signed_in)

    async def test_takes_the_id_as_text(self, gateway: WiredServices, laptop: SignedIn, principal: Principal) -> None:
        assert await gateway.sessions.revoke(principal, str(laptop.session_id)) == laptop.session_id
        await assert_signed_out(gateway, laptop)

    async def test_ends_the_callers_own_session_too(
        self, gateway: WiredServices, signed_in: SignedIn, principal: Principal, database: FakeDatabase
    ) -> None:
        await gateway.sessions.revoke(principal, signed_in.session_id)

        await assert_signed_out(gateway, signed_in)
        assert database.audit_events()[-1] == "logged_out"

    async def test_is_audited(
        self, gateway: WiredServices, laptop: SignedIn, principal: Principal, database: FakeDatabase
    ) -> None:
        await gateway.sessions.revoke(principal, laptop.session_id)

        last = database.state.audit_events[-1]
        assert (last.type.value, last.user_id) == ("session_revoked", principal.user.id)

    async def test_an_unknown_id(self, gateway: WiredServices, signed_in: SignedIn, principal: Principal) -> None:
        with pytest.raises(SessionNotFound):
            await gateway.sessions.revoke(principal, uuid.uuid4())
        await assert_still_signed_in(gateway, signed_in)

    @pytest.mark.parametrize("session_id", ["not-a-uuid", "", "x" * 10_000])
    async def test_a_malformed_id(
        self, gateway: WiredServices, signed_in: SignedIn, principal: Principal, session_id: str
    ) -> None:
        with pytest.raises(SessionNotFound):
            await gateway.sessions.revoke(principal, session_id)
        await assert_still_signed_in(gateway, signed_in)

    async def test_another_accounts_session(
        self, gateway: WiredServices, principal: Principal, bob: SignedIn, database: FakeDatabase
    ) -> None:
        events = database.audit_events()
        with pytest.raises(SessionNotFound):
            await gateway.sessions.revoke(principal, bob.session_id)

        assert database.audit_events() == events
        await assert_still_signed_in(gateway, bob)

    async def test_an_already_revoked_session(
        self, gateway: WiredServices, laptop: SignedIn, principal: Principal
    ) -> None:
        await gateway.sessions.revoke(principal, laptop.session_id)
        with pytest.raises(SessionNotFound):
            await gateway.sessions.revoke(principal, laptop.session_id)

    async def test_a_session_that_ended_by_being_idle(
        self, gateway: WiredServices, signed_in: SignedIn, laptop: SignedIn, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(days=14) - timedelta(seconds=1))  # the laptop came a minute later
        kept = await gateway.refresh.refresh(laptop.refresh_token)
        with pytest.raises(SessionNotFound):
            await gateway.sessions.revoke(await principal_of(gateway, kept), signed_in.session_id)
