from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from domain import messages
from domain.devices import device_summary
from domain.entities import PASSWORD_ONLY, RefreshTokenRecord, Session, SignedIn, truncated_user_agent
from domain.errors import InvalidAccessToken
from domain.refresh_tokens import hash_refresh_token

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from domain.devices import DeviceFingerprints
    from domain.entities import AuthMethod, Client, User
    from domain.policy import AuthPolicy
    from domain.ports import AccessTokenCodec, Clock, Outbox, UnitOfWork
    from domain.refresh_tokens import RefreshTokenMinter


class SessionStarter:
    """Opens a session (a new refresh-token family) and issues its first token pair; every
    sign-in comes through here, so here its owner hears of one from a new device."""

    def __init__(
        self,
        access_tokens: AccessTokenCodec,
        refresh_tokens: RefreshTokenMinter,
        clock: Clock,
        policy: AuthPolicy,
        outbox: Outbox,
        devices: DeviceFingerprints,
    ) -> None:
        self._access_tokens = access_tokens
        self._refresh_tokens = refresh_tokens
        self._clock = clock
        self._policy = policy
        self._outbox = outbox
        self._devices = devices

    async def start(
        self, uow: UnitOfWork, user: User, client: Client, amr: tuple[AuthMethod, ...] = PASSWORD_ONLY
    ) -> SignedIn:
        """A new session of ``user``, signed in with ``amr`` (RFC 8176 methods)."""
        now = self._clock.now()
        session = Session(
            id=uuid.uuid4(),
            user_id=user.id,
            family_seed=self._refresh_tokens.new_family_seed(),
            generation=0,
            created_at=now,
            last_used_at=now,
            expires_at=now + self._policy.refresh_absolute_lifetime,
            client_ip=client.ip,
            user_agent=truncated_user_agent(client.user_agent),
            amr=" ".join(amr),
            authenticated_at=now,
        )
        await uow.sessions.add(session)
        refresh_token = self._refresh_tokens.token(session.family_seed, session.generation)
        await uow.sessions.add_token(
            RefreshTokenRecord(
                token_hash=hash_refresh_token(refresh_token),
                session_id=session.id,
                generation=session.generation,
                issued_at=now,
            )
        )
        if self._policy.new_device_notices:
            await self._notice_if_new_device(uow, user, client, now)
        return self.signed_in(user, session, refresh_token, now)

    async def _notice_if_new_device(self, uow: UnitOfWork, user: User, client: Client, now: datetime) -> None:
        """Mail the owner (in the sign-in's transaction) when no sign-in of the account within
        the policy's memory came from this device; the account's first sign-in ever (after its
        sign-up, or the first since notices were turned on) only teaches the device."""
        device = self._devices.of(client.ip, client.user_agent)
        known = await uow.sessions.known_devices(user.id, now - self._policy.known_device_memory)
        await uow.sessions.remember_device(user.id, device, now)
        if known is None or device in known:
            return
        await self._outbox.queue(
            uow,
            messages.new_device_sign_in(
                user.email,
                self._policy.product_name,
                signed_in_at=messages.when(now),  # the same in every language
                client_ip=client.ip,
                device=device_summary(client.user_agent),
                locale=self._policy.mail_locale(user.locale),  # the owner's language, never the caller's
            ),
        )

    async def proved(self, uow: UnitOfWork, session_id: UUID, amr: tuple[AuthMethod, ...]) -> None:
        """Record on the session that its owner has just proved who they are, with ``amr`` (RFC 8176).

        Raises:
            InvalidAccessToken: the session ended meanwhile: the caller is no longer signed in.
        """
        session = await uow.sessions.get_for_update(session_id)
        if session is None:
            raise InvalidAccessToken
        session.authenticated_at = self._clock.now()
        session.amr = " ".join(amr)
        await uow.sessions.save(session)

    def signed_in(self, user: User, session: Session, refresh_token: str, now: datetime) -> SignedIn:
        refresh_ends = min(session.last_used_at + self._policy.refresh_idle_lifetime, session.expires_at)
        return SignedIn(
            access_token=self._access_tokens.issue(
                user.id, session.id, now, amr=session.amr.split(), auth_time=session.auth_time
            ),
            refresh_token=refresh_token,
            expires_in=self._access_tokens.lifetime_seconds,
            user=user,
            session_id=session.id,
            refresh_expires_in=max(0, int((refresh_ends - now).total_seconds())),
        )
