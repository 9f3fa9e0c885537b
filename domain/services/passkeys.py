"""Passkeys (WebAuthn): adding them to an account, and signing in with one alone.

A passkey with user verification is a whole sign-in: something the person has (the
authenticator) and something they know or are (its PIN or biometric). No e-mail address
is typed: the authenticator tells which credential, and so which account. Challenges are
kept server-side (as their SHA-256), single use and short-lived, so several gateway
processes on one database work together.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from domain import messages
from domain.entities import (
    UNKNOWN_CLIENT,
    AuditEventType,
    AuthMethod,
    MailKind,
    Passkey,
    PasskeyChallenge,
)
from domain.errors import InvalidAccessToken, InvalidInput, InvalidPasskey, PasskeyNotFound
from domain.services.throttle import LOGIN_PER_IP
from domain.services.ways_in import keep_a_way_in

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, PasskeyAssertion, Principal, SignedIn, User
    from domain.policy import AuthPolicy
    from domain.ports import Clock, Outbox, PasskeyCeremonies, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.password_check import PasswordCheck
    from domain.services.recovery_codes import RecoveryCodeBook
    from domain.services.session_starter import SessionStarter
    from domain.services.throttle import Throttle

CHALLENGE_LIFETIME = timedelta(minutes=5)
NAME_MAX_LENGTH = 64
REGISTER, SIGN_IN, SECOND_STEP = "register", "sign_in", "second_step"


def _challenge_hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


class PasskeyService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        ceremonies: PasskeyCeremonies,
        password_check: PasswordCheck,
        recovery_codes: RecoveryCodeBook,
        sessions: SessionStarter,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._ceremonies = ceremonies
        self._password_check = password_check
        self._recovery_codes = recovery_codes
        self._sessions = sessions
        self._outbox = outbox
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit

    def _require_enabled(self) -> None:
        if not self._ceremonies.enabled:
            raise InvalidPasskey

    # ---- the account's passkeys

    async def of_account(self, principal: Principal) -> list[Passkey]:
        async with self._uow() as uow:
            return await uow.factors.list_passkeys(principal.user.id)

    async def begin_registration(
        self, principal: Principal, password: str | None, client: Client = UNKNOWN_CLIENT
    ) -> str:
        """The options for the browser's ``navigator.credentials.create``, after the password
        (and, with a second factor, a recent proof of it: see ``PasswordCheck``).

        Raises:
            InvalidPasskey: passkeys are not configured on this gateway.
            InvalidCredentials, ReauthenticationRequired, RateLimited: see ``PasswordCheck.confirm``.
        """
        self._require_enabled()
        await self._password_check.confirm(principal, password, client)
        user = principal.user
        async with self._uow() as uow:
            existing = [passkey.credential_id for passkey in await uow.factors.list_passkeys(user.id)]
            options, challenge = self._ceremonies.registration_options(user.id.bytes, user.email, existing)
            await uow.factors.add_challenge(
                PasskeyChallenge(_challenge_hash(challenge), REGISTER, self._clock.now() + CHALLENGE_LIFETIME, user.id)
            )
            await uow.commit()
        return options

    async def finish_registration(
        self, principal: Principal, credential_json: str, name: str, client: Client = UNKNOWN_CLIENT
    ) -> tuple[Passkey, list[str]]:
        """Keep the passkey the browser created for the options of ``begin_registration``; with
        the account's first second factor, also new recovery codes (else ``[]``).

        Raises:
            InvalidInput: the name is empty or too long.
            InvalidPasskey: not an answer to this account's registration challenge, expired,
                from another origin or site, without user verification, or already registered.
        """
        name = _name(name)
        self._require_enabled()
        user = principal.user
        challenge = self._ceremonies.challenge_of(credential_json)
        async with self._uow() as uow:
            taken = await uow.factors.take_challenge(_challenge_hash(challenge))
            await uow.commit()  # spent, whatever comes next: a challenge is answered once
        if taken is None or taken.purpose != REGISTER or taken.user_id != user.id:
            raise InvalidPasskey
        if taken.expires_at <= self._clock.now():
            raise InvalidPasskey
        created = self._ceremonies.verify_registration(credential_json, challenge)
        passkey = Passkey(
            credential_id=created.credential_id,
            user_id=user.id,
            public_key=created.public_key,
            sign_count=created.sign_count,
            name=name,
            created_at=self._clock.now(),
            backed_up=created.backed_up,
            synced=created.synced,
        )
        async with self._uow() as uow:
            if await uow.factors.get_passkey_for_update(created.credential_id) is not None:
                raise InvalidPasskey
            await uow.factors.add_passkey(passkey)
            # the new passkey verified its user just now: this session has proved it
            kind = AuthMethod.SOFTWARE_KEY if passkey.synced else AuthMethod.HARDWARE_KEY
            await self._sessions.proved(uow, principal.session_id, (AuthMethod.PASSWORD, kind, AuthMethod.MULTI_FACTOR))
            codes = await self._recovery_codes.first(uow, user.id)
            await self._audit.record(uow, AuditEventType.PASSKEY_ADDED, client, user.id)
            await self._notify(uow, user, MailKind.PASSKEY_ADDED, client)
            await uow.commit()
        return passkey, codes

    async def rename(self, principal: Principal, credential_id: bytes, name: str) -> Passkey:
        """Give one of the account's passkeys another name.

        Raises:
            InvalidInput: the name is empty or too long.
            PasskeyNotFound: the account has no passkey of this id.
        """
        name = _name(name)
        async with self._uow() as uow:
            passkey = await uow.factors.get_passkey_for_update(credential_id)
            if passkey is None or passkey.user_id != principal.user.id:
                raise PasskeyNotFound
            passkey.name = name
            await uow.factors.save_passkey(passkey)
            await uow.commit()
        return passkey

    async def remove(
        self, principal: Principal, credential_id: bytes, password: str | None, client: Client = UNKNOWN_CLIENT
    ) -> None:
        """Remove one of the account's passkeys, after the password (and a recent proof of a second factor).

        Raises:
            PasskeyNotFound: the account has no passkey of this id.
            LastSignInMethod: it is the account's only way in (no password, no other passkey, no
                provider identity); checked before the proof is asked for, and again after.
            InvalidCredentials, ReauthenticationRequired, RateLimited: see ``PasswordCheck.confirm``.
        """
        async with self._uow() as uow:
            await self._check_removable(uow, await self._locked(uow, principal.user.id), credential_id)
        await self._password_check.confirm(principal, password, client)
        async with self._uow() as uow:
            # Locked: two removals at once must not each leave the other as the last way in.
            user = await self._locked(uow, principal.user.id)
            await self._check_removable(uow, user, credential_id)
            if not await uow.factors.delete_passkey(user.id, credential_id):
                raise PasskeyNotFound
            if not await uow.factors.list_passkeys(user.id) and not await uow.factors.has_confirmed_totp(user.id):
                await uow.factors.replace_recovery_codes(user.id, [])  # they stood in for the last factor
            await self._audit.record(uow, AuditEventType.PASSKEY_REMOVED, client, user.id)
            await self._notify(uow, user, MailKind.PASSKEY_REMOVED, client)
            await uow.commit()

    @staticmethod
    async def _check_removable(uow: UnitOfWork, user: User, credential_id: bytes) -> None:
        passkey = await uow.factors.get_passkey_for_update(credential_id)
        if passkey is None or passkey.user_id != user.id:
            raise PasskeyNotFound
        await keep_a_way_in(uow, user, without_passkey=credential_id)

    @staticmethod
    async def _locked(uow: UnitOfWork, user_id: UUID) -> User:
        user = await uow.users.get_for_update(user_id)
        if user is None:  # deleted since the request was let in
            raise InvalidAccessToken
        return user

    # ---- signing in with a passkey alone

    async def begin_sign_in(self, client: Client = UNKNOWN_CLIENT) -> str:
        """The options for ``navigator.credentials.get``: any passkey of this site (no address typed).

        Raises:
            InvalidPasskey: passkeys are not configured on this gateway.
            RateLimited: too many sign-ins from this client.
        """
        self._require_enabled()
        await self._throttle.check_client(LOGIN_PER_IP, client)
        options, challenge = self._ceremonies.authentication_options()
        async with self._uow() as uow:
            await uow.factors.add_challenge(
                PasskeyChallenge(_challenge_hash(challenge), SIGN_IN, self._clock.now() + CHALLENGE_LIFETIME)
            )
            await uow.commit()
        return options

    async def finish_sign_in(self, credential_json: str, client: Client = UNKNOWN_CLIENT) -> SignedIn:
        """Open a session with the passkey's answer to the options of ``begin_sign_in``.

        Raises:
            InvalidPasskey: not an answer to a sign-in challenge of this gateway, expired or
                spent, an unknown credential, no user verification, or a counter that went
                backwards (a cloned authenticator: refused and audited).
        """
        user_id, kind = await self._verified(credential_json, SIGN_IN, None, client)
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise InvalidPasskey
            signed_in = await self._sessions.start(
                uow, user, client, (kind, AuthMethod.USER_VERIFIED, AuthMethod.MULTI_FACTOR)
            )
            await self._audit.record(
                uow, AuditEventType.LOGIN_SUCCEEDED, client, user.id, "passkey", session_id=signed_in.session_id
            )
            await uow.commit()
        return signed_in

    # ---- a passkey as the second step after the password

    async def second_step_options(self, uow: UnitOfWork, user: User) -> str | None:
        """In the sign-in's unit of work: the options for ``navigator.credentials.get`` with
        ``user``'s passkeys, or ``None`` when the account has none (or passkeys are off)."""
        if not self._ceremonies.enabled:
            return None
        passkeys = await uow.factors.list_passkeys(user.id)
        if not passkeys:
            return None
        options, challenge = self._ceremonies.authentication_options([p.credential_id for p in passkeys])
        expires_at = self._clock.now() + CHALLENGE_LIFETIME
        await uow.factors.add_challenge(PasskeyChallenge(_challenge_hash(challenge), SECOND_STEP, expires_at, user.id))
        return options

    async def second_step(self, user: User, credential_json: str, client: Client) -> AuthMethod | None:
        """Check a passkey's answer to ``second_step_options``: how it authenticated
        (``hwk`` or ``swk``), or ``None`` when it is not ``user``'s, not an answer to their
        challenge, or not acceptable."""
        try:
            _, kind = await self._verified(credential_json, SECOND_STEP, user.id, client)
        except InvalidPasskey:
            return None
        return kind

    async def _verified(
        self, credential_json: str, purpose: str, user_id: UUID | None, client: Client
    ) -> tuple[UUID, AuthMethod]:
        """The account and kind of the passkey that answered a ``purpose`` challenge (one handed
        out for ``user_id``, or for nobody in particular), its use recorded.

        Raises:
            InvalidPasskey: passkeys are off; not an answer to such a challenge, or expired or
                spent; an unknown credential or another account's; not acceptable to the
                ceremony; or a counter that went backwards (a cloned key: audited).
        """
        self._require_enabled()
        challenge = self._ceremonies.challenge_of(credential_json)
        credential_id, user_handle = self._ceremonies.credential_id_of(credential_json)
        async with self._uow() as uow:
            taken = await uow.factors.take_challenge(_challenge_hash(challenge))
            passkey = await uow.factors.get_passkey_for_update(credential_id)
            await uow.commit()  # the challenge is spent, whatever comes next
        if (
            taken is None
            or taken.purpose != purpose
            or taken.user_id != user_id
            or taken.expires_at <= self._clock.now()
            or passkey is None
            or (user_id is not None and passkey.user_id != user_id)
            or (user_handle is not None and user_handle != passkey.user_id.bytes)
        ):
            raise InvalidPasskey
        asserted = self._ceremonies.verify_authentication(credential_json, challenge, passkey.public_key)
        async with self._uow() as uow:
            kind = await self._used(uow, credential_id, asserted, client)
            await uow.commit()  # the use, or the audit of a cloned key
        if kind is None:
            raise InvalidPasskey
        return passkey.user_id, kind

    async def _used(
        self, uow: UnitOfWork, credential_id: bytes, asserted: PasskeyAssertion, client: Client
    ) -> AuthMethod | None:
        """Record a verified use of the passkey: its kind, or ``None`` for a cloned key (audited)."""
        current = await uow.factors.get_passkey_for_update(credential_id)
        if current is None:
            return None
        # Counters only go up; an answer at or below the last one comes from a copy of
        # the key (authenticators that keep no counter send 0 every time).
        if (asserted.sign_count or current.sign_count) and asserted.sign_count <= current.sign_count:
            await self._audit.record(uow, AuditEventType.PASSKEY_REFUSED, client, current.user_id, "cloned")
            return None
        current.sign_count = asserted.sign_count
        current.backed_up = asserted.backed_up
        current.last_used_at = self._clock.now()
        await uow.factors.save_passkey(current)
        return AuthMethod.SOFTWARE_KEY if current.synced else AuthMethod.HARDWARE_KEY

    async def _notify(self, uow: UnitOfWork, user: User, kind: MailKind, client: Client) -> None:
        await self._outbox.queue(
            uow,
            messages.passkey_notice(
                user.email,
                kind,
                self._policy.product_name,
                at=self._clock.now(),
                client=client,
                locale=self._policy.mail_locale(user.locale),
            ),
        )


def _name(name: str) -> str:
    """``name`` with its spaces tidied; ``InvalidInput`` if it is empty or too long."""
    name = " ".join(name.split())
    if not 0 < len(name) <= NAME_MAX_LENGTH:
        raise InvalidInput.one("name", f"Name the passkey (at most {NAME_MAX_LENGTH} characters).")
    return name
