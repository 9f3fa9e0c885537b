from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.errors import InvalidAccessToken, InvalidRefreshToken
from security.access_tokens import AccessTokenCodec
from tests.unit.gateway import ALICE, AUDIENCE, ISSUER, KEYS

if TYPE_CHECKING:
    from domain.entities import SignedIn
    from tests.unit.fakes import FakeDatabase, FixedClock
    from tests.unit.gateway import WiredServices


class TestReadAccessToken:
    def test_reads_a_token_of_the_same_codec(self, gateway: WiredServices, signed_in: SignedIn) -> None:
        claims = gateway.identity.read_access_token(signed_in.access_token)
        assert claims.user_id == signed_in.user.id
        assert claims.session_id == signed_in.session_id

    def test_the_token_lasts_as_long_as_announced(
        self, gateway: WiredServices, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(seconds=signed_in.expires_in - 1))
        gateway.identity.read_access_token(signed_in.access_token)

        clock.advance(timedelta(seconds=1))
        with pytest.raises(InvalidAccessToken):
            gateway.identity.read_access_token(signed_in.access_token)

    def test_refuses_a_token_signed_with_another_secret(self, gateway: WiredServices, clock: FixedClock) -> None:
        elsewhere = AccessTokenCodec(
            b"another server's access-token key", issuer=ISSUER, audience=AUDIENCE, lifetime_seconds=900
        )
        token = elsewhere.issue(uuid.uuid4(), uuid.uuid4(), clock.now())
        with pytest.raises(InvalidAccessToken):
            gateway.identity.read_access_token(token)

    def test_refuses_a_refresh_token(self, gateway: WiredServices, signed_in: SignedIn) -> None:
        with pytest.raises(InvalidAccessToken):
            gateway.identity.read_access_token(signed_in.refresh_token)


class TestAuthenticate:
    async def test_is_the_account_the_token_speaks_for(self, gateway: WiredServices, signed_in: SignedIn) -> None:
        claims = gateway.identity.read_access_token(signed_in.access_token)
        principal = await gateway.identity.authenticate(claims)
        user = principal.user
        assert principal.session_id == signed_in.session_id
        assert (user.id, user.email, user.first_name) == (signed_in.user.id, ALICE, "Alice")

    async def test_a_deleted_account(self, gateway: WiredServices, signed_in: SignedIn, database: FakeDatabase) -> None:
        claims = gateway.identity.read_access_token(signed_in.access_token)
        database.delete_user(signed_in.user.id)
        with pytest.raises(InvalidAccessToken):
            await gateway.identity.authenticate(claims)

    async def test_an_account_that_never_existed(self, gateway: WiredServices, clock: FixedClock) -> None:
        token = AccessTokenCodec(KEYS.access_token, issuer=ISSUER, audience=AUDIENCE, lifetime_seconds=900).issue(
            uuid.uuid4(), uuid.uuid4(), clock.now()
        )
        claims = gateway.identity.read_access_token(token)
        with pytest.raises(InvalidAccessToken):
            await gateway.identity.authenticate(claims)

    async def test_a_session_that_was_logged_out(self, gateway: WiredServices, signed_in: SignedIn) -> None:
        claims = gateway.identity.read_access_token(signed_in.access_token)
        await gateway.sessions.logout(await gateway.identity.authenticate(claims))

        with pytest.raises(InvalidAccessToken):
            await gateway.identity.authenticate(claims)

    async def test_a_session_idle_past_the_idle_lifetime(
        self, gateway: WiredServices, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        claims = gateway.identity.read_access_token(signed_in.access_token)
        clock.advance(timedelta(days=14) - timedelta(seconds=1))
        await gateway.identity.authenticate(claims)

        clock.advance(timedelta(seconds=2))
        with pytest.raises(InvalidAccessToken):
            await gateway.identity.authenticate(claims)

    async def test_a_session_idle_for_exactly_the_idle_lifetime(
        self, gateway: WiredServices, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        claims = gateway.identity.read_access_token(signed_in.access_token)
        clock.advance(timedelta(days=14))
        with pytest.raises(InvalidRefreshToken):
            await gateway.refresh.refresh(signed_in.refresh_token)

        with pytest.raises(InvalidAccessToken):
            await gateway.identity.authenticate(claims)

    async def test_a_session_past_its_absolute_lifetime(
        self, gateway: WiredServices, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        latest = signed_in
        for _ in range(29):
            clock.advance(timedelta(days=1))
            latest = await gateway.refresh.refresh(latest.refresh_token)
        clock.advance(timedelta(days=1) - timedelta(minutes=10))
        latest = await gateway.refresh.refresh(latest.refresh_token)  # used daily; 30 days old in 10 minutes
        claims = gateway.identity.read_access_token(latest.access_token)
        await gateway.identity.authenticate(claims)

        clock.advance(timedelta(minutes=10))  # the access token itself is still unexpired
        with pytest.raises(InvalidAccessToken):
            await gateway.identity.authenticate(claims)
