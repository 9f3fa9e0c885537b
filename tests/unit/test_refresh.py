from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.errors import InvalidRefreshToken
from tests.unit.fakes import FakeSessionRepository
from tests.unit.gateway import signed

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from domain.entities import RefreshTokenRecord, Session, SignedIn, User
    from domain.rate_limiting import CounterHit
    from tests.unit.fakes import FakeDatabase, FixedClock
    from tests.unit.gateway import VerifiedUser, WiredServices


@pytest.fixture
async def rotated(gateway: WiredServices, signed_in: SignedIn) -> SignedIn:
    """The pair that refreshing ``signed_in`` once returned; ``signed_in`` is now spent."""
    return await gateway.refresh.refresh(signed_in.refresh_token)


async def assert_refused(gateway: WiredServices, refresh_token: str) -> None:
    with pytest.raises(InvalidRefreshToken):
        await gateway.refresh.refresh(refresh_token)


class TestRefresh:
    async def test_rotation_issues_a_new_pair_for_the_same_session(
        self, gateway: WiredServices, signed_in: SignedIn, rotated: SignedIn
    ) -> None:
        assert rotated.refresh_token != signed_in.refresh_token
        assert rotated.access_token != signed_in.access_token
        assert rotated.session_id == signed_in.session_id
        assert rotated.user.id == signed_in.user.id
        claims = gateway.identity.read_access_token(rotated.access_token)
        assert (claims.user_id, claims.session_id) == (signed_in.user.id, signed_in.session_id)

    async def test_the_new_token_works(self, gateway: WiredServices, rotated: SignedIn) -> None:
        following = await gateway.refresh.refresh(rotated.refresh_token)
        assert following.refresh_token != rotated.refresh_token

    async def test_the_stored_tokens_are_hashes(
        self, rotated: SignedIn, signed_in: SignedIn, database: FakeDatabase
    ) -> None:
        stored = set(database.state.refresh_tokens)
        assert len(stored) == 2
        assert not stored & {signed_in.refresh_token, rotated.refresh_token}

    async def test_a_repeat_inside_the_grace_window_gets_the_same_successor(
        self, gateway: WiredServices, signed_in: SignedIn, rotated: SignedIn, clock: FixedClock
    ) -> None:
        # Two tabs refreshing at once: the slower one presents the token just spent.
        clock.advance(timedelta(seconds=10))
        repeat = await gateway.refresh.refresh(signed_in.refresh_token)

        assert repeat.refresh_token == rotated.refresh_token
        assert repeat.session_id == rotated.session_id
        gateway.identity.read_access_token(repeat.access_token)
        await gateway.refresh.refresh(rotated.refresh_token)  # not revoked

    async def test_a_repeat_after_the_grace_window_revokes_the_family(
        self, gateway: WiredServices, signed_in: SignedIn, rotated: SignedIn, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(seconds=11))
        await assert_refused(gateway, signed_in.refresh_token)
        await assert_refused(gateway, rotated.refresh_token)

    async def test_an_older_token_revokes_the_family_at_once(
        self, gateway: WiredServices, signed_in: SignedIn, rotated: SignedIn
    ) -> None:
        current = await gateway.refresh.refresh(rotated.refresh_token)

        await assert_refused(gateway, signed_in.refresh_token)  # two generations back
        await assert_refused(gateway, current.refresh_token)

    async def test_revoking_a_family_leaves_other_sessions_alone(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        signed_in: SignedIn,
        rotated: SignedIn,
        clock: FixedClock,
    ) -> None:
        other_device = signed(await gateway.login.login(verified_user.email, verified_user.password))
        clock.advance(timedelta(seconds=11))
        await assert_refused(gateway, signed_in.refresh_token)

        await gateway.refresh.refresh(other_device.refresh_token)

    @pytest.mark.parametrize(
        "refresh_token",
        ["", "x" * 43, "x" * 512, "x" * 513, "x" * 100_000],
        ids=["empty", "unknown", "unknown 512", "513 characters", "100k characters"],
    )
    async def test_a_token_we_never_issued(
        self, gateway: WiredServices, signed_in: SignedIn, refresh_token: str
    ) -> None:
        await assert_refused(gateway, refresh_token)
        await gateway.refresh.refresh(signed_in.refresh_token)  # and nothing was revoked

    async def test_an_access_token(self, gateway: WiredServices, signed_in: SignedIn) -> None:
        await assert_refused(gateway, signed_in.access_token)

    async def test_idle_for_14_days(self, gateway: WiredServices, signed_in: SignedIn, clock: FixedClock) -> None:
        clock.advance(timedelta(days=14))
        await assert_refused(gateway, signed_in.refresh_token)

    async def test_each_use_restarts_the_idle_lifetime(
        self, gateway: WiredServices, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(days=14) - timedelta(seconds=1))
        rotated = await gateway.refresh.refresh(signed_in.refresh_token)
        clock.advance(timedelta(days=14) - timedelta(seconds=1))
        await gateway.refresh.refresh(rotated.refresh_token)

    async def test_a_session_ends_after_30_days_even_if_used_daily(
        self, gateway: WiredServices, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        refresh_token = signed_in.refresh_token
        for _ in range(29):
            clock.advance(timedelta(days=1))
            refresh_token = (await gateway.refresh.refresh(refresh_token)).refresh_token

        clock.advance(timedelta(days=1))
        await assert_refused(gateway, refresh_token)

    async def test_the_account_was_deleted(
        self, gateway: WiredServices, signed_in: SignedIn, database: FakeDatabase
    ) -> None:
        database.delete_user(signed_in.user.id)
        await assert_refused(gateway, signed_in.refresh_token)


@pytest.fixture
def between_read_and_write(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], Awaitable[object]]]:
    """What other requests commit after the next refresh has read its session and before it
    writes the rotation: append actions to the list."""
    actions: list[Callable[[], Awaitable[object]]] = []
    read = FakeSessionRepository.find_for_rotation

    async def read_then_let_others_in(
        self: FakeSessionRepository, token_hash: str, counting: CounterHit | None = None
    ) -> tuple[RefreshTokenRecord, Session, User] | None:
        found = await read(self, token_hash, counting)
        while actions:
            await actions.pop(0)()
        return found

    monkeypatch.setattr(FakeSessionRepository, "find_for_rotation", read_then_let_others_in)
    return actions


class TestARotationThatLosesTheRace:
    """No lock is held between a refresh's read and its write: the write only goes through
    if the session is still where the read found it."""

    async def test_to_a_rotation_of_the_same_token_gets_its_successor(
        self,
        gateway: WiredServices,
        signed_in: SignedIn,
        database: FakeDatabase,
        between_read_and_write: list[Callable[[], Awaitable[object]]],
    ) -> None:
        other_tab: list[SignedIn] = []

        async def other_tab_refreshes() -> None:
            other_tab.append(await gateway.refresh.refresh(signed_in.refresh_token))

        between_read_and_write.append(other_tab_refreshes)
        this_tab = await gateway.refresh.refresh(signed_in.refresh_token)

        assert this_tab.refresh_token == other_tab[0].refresh_token
        session = database.state.sessions[signed_in.session_id]
        assert (session.generation, session.revoked_at) == (1, None)
        assert sorted(r.generation for r in database.state.refresh_tokens.values()) == [0, 1]
        assert database.audit_events().count("token_refreshed") == 1
        await gateway.refresh.refresh(this_tab.refresh_token)  # the family goes on

    async def test_to_a_sign_out_is_refused_and_writes_nothing(
        self,
        gateway: WiredServices,
        signed_in: SignedIn,
        database: FakeDatabase,
        clock: FixedClock,
        between_read_and_write: list[Callable[[], Awaitable[object]]],
    ) -> None:
        async def signed_out_elsewhere() -> None:
            session = database.state.sessions[signed_in.session_id]
            database.state.sessions[session.id] = dataclasses.replace(session, revoked_at=clock.now())

        between_read_and_write.append(signed_out_elsewhere)
        await assert_refused(gateway, signed_in.refresh_token)

        assert database.state.sessions[signed_in.session_id].generation == 0
        assert len(database.state.refresh_tokens) == 1
        assert "token_refreshed" not in database.audit_events()

    async def test_to_two_rotations_is_a_reuse(
        self,
        gateway: WiredServices,
        signed_in: SignedIn,
        database: FakeDatabase,
        between_read_and_write: list[Callable[[], Awaitable[object]]],
    ) -> None:
        # The family moved on twice meanwhile: the token read is two generations back now.
        async def moved_on_twice() -> None:
            rotated = await gateway.refresh.refresh(signed_in.refresh_token)
            await gateway.refresh.refresh(rotated.refresh_token)

        between_read_and_write.append(moved_on_twice)
        await assert_refused(gateway, signed_in.refresh_token)

        assert database.state.sessions[signed_in.session_id].revoked_at is not None
        assert database.audit_events()[-1] == "refresh_token_reused"
