"""Second factors: an authenticator app (TOTP) with recovery codes, and the second step of a
sign-in that needs one.

A sign-in of an account with an authenticator app stops after the right password with a
ticket (``MfaRequired``); ``complete_sign_in`` takes the ticket and a code from the app or a
recovery code and opens the session. The password step does not end the account's failure
streak: only the second step does, and each wrong code adds to it, so a known password does
not buy unlimited guesses at the codes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain import messages
from domain.entities import (
    UNKNOWN_CLIENT,
    WITH_SECOND_FACTOR,
    AuditEventType,
    AuthMethod,
    MailKind,
    MfaRequired,
    SecondFactorMethod,
    SecondFactors,
    SignInTicket,
    TotpFactor,
    TotpProvisioning,
)
from domain.errors import (
    InvalidInput,
    InvalidOtp,
    InvalidPasskey,
    InvalidTicket,
    SecondFactorAlreadyEnabled,
    SecondFactorNotEnabled,
    SecondFactorRequired,
    SecondFactorsOff,
)
from domain.services.recovery_codes import RECOVERY_CODE_ALPHABET, RECOVERY_CODE_LENGTH

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, Principal, SignedIn, User
    from domain.policy import AuthPolicy
    from domain.ports import Clock, Outbox, SecretSealer, TotpAlgorithm, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.passkeys import PasskeyService
    from domain.services.password_check import PasswordCheck
    from domain.services.recovery_codes import RecoveryCodeBook
    from domain.services.session_starter import SessionStarter
    from domain.services.throttle import Throttle

TICKET_LIFETIME = timedelta(minutes=5)
TICKET_TRIES = 5  # wrong codes a ticket takes before it is void
CODE_MAX_LENGTH = 64  # longer input is not a code of ours: refused before any work


_ONE_PROOF = "Give either the password, or a second-factor method with its code."
_STRONGER_PROOF = "This account has a second factor: reauthenticate with it (method and code)."


def _ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode("utf-8")).hexdigest()


class SecondFactorService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        totp: TotpAlgorithm,
        sealer: SecretSealer,
        recovery_codes: RecoveryCodeBook,
        password_check: PasswordCheck,
        passkeys: PasskeyService,
        sessions: SessionStarter,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._totp = totp
        self._sealer = sealer
        self._recovery_codes = recovery_codes
        self._password_check = password_check
        self._passkeys = passkeys
        self._sessions = sessions
        self._outbox = outbox
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit

    # ---- what the account has

    async def status(self, principal: Principal) -> SecondFactors:
        user_id = principal.user.id
        async with self._uow() as uow:
            return SecondFactors(
                totp=await uow.factors.has_confirmed_totp(user_id),
                recovery_codes_left=await uow.factors.count_recovery_codes(user_id),
            )

    # ---- setting up and removing the authenticator app

    async def satisfies_policy(self, principal: Principal) -> bool:
        """Whether the account may use the gateway beyond setting up a second factor: always,
        unless the policy requires one and the account has none yet."""
        if self._policy.second_factors != "required":
            return True
        async with self._uow() as uow:
            return await has_second_factor(uow, principal.user.id)

    async def begin_totp(self, principal: Principal) -> TotpProvisioning:
        """A new secret for an authenticator app; it counts once ``confirm_totp`` has seen a code from it.

        Raises:
            SecondFactorAlreadyEnabled: the account has a confirmed app already.
            SecondFactorsOff: the policy offers no second factors.
        """
        if self._policy.second_factors == "off":
            raise SecondFactorsOff
        user = principal.user
        secret = self._totp.new_secret()
        async with self._uow() as uow:
            existing = await uow.factors.get_totp_for_update(user.id)
            if existing is not None and existing.confirmed_at is not None:
                raise SecondFactorAlreadyEnabled
            await uow.factors.put_totp(
                TotpFactor(
                    user_id=user.id,
                    sealed_secret=self._sealer.seal(secret.encode("ascii"), user.id.bytes),
                    created_at=self._clock.now(),
                )
            )
            await uow.commit()
        return TotpProvisioning(
            secret=secret, uri=self._totp.provisioning_uri(secret, user.email, self._policy.product_name)
        )

    async def confirm_totp(self, principal: Principal, code: str, client: Client = UNKNOWN_CLIENT) -> list[str]:
        """Turn the app on with a first code from it; returns the new recovery codes (shown once).

        Raises:
            InvalidInput: the code is not six digits.
            InvalidOtp: not the app's current code.
            SecondFactorNotEnabled: no setup was begun.
            SecondFactorAlreadyEnabled: the app is on already.
        """
        code = _digits(code)
        user = principal.user
        async with self._uow() as uow:
            factor = await uow.factors.get_totp_for_update(user.id)
            if factor is None:
                raise SecondFactorNotEnabled
            if factor.confirmed_at is not None:
                raise SecondFactorAlreadyEnabled
            step = self._totp.matching_step(self._secret(factor), code, self._clock.now())
            if step is None:
                raise InvalidOtp
            factor.confirmed_at = self._clock.now()
            factor.last_step = step
            await uow.factors.put_totp(factor)
            # the code just proved the app: this session counts as signed in with it
            await self._proved_in_session(uow, principal.session_id)
            codes = await self._recovery_codes.first(uow, user.id)
            await self._audit.record(uow, AuditEventType.SECOND_FACTOR_ENABLED, client, user.id, "totp")
            await self._notify(uow, user, MailKind.SECOND_FACTOR_ENABLED, client)
            await uow.commit()
        return codes

    async def remove_totp(self, principal: Principal, password: str | None, client: Client = UNKNOWN_CLIENT) -> None:
        """Turn the app off, with its recovery codes, after the password.

        Raises:
            InvalidCredentials, RateLimited: see ``PasswordCheck.confirm``.
            SecondFactorNotEnabled: there is no app to remove.
            SecondFactorRequired: the policy requires one (the operator's reset still removes it).
        """
        if self._policy.second_factors == "required":
            raise SecondFactorRequired
        user = principal.user
        await self._password_check.confirm(principal, password, client)
        async with self._uow() as uow:
            factor = await uow.factors.get_totp_for_update(user.id)
            if factor is None or factor.confirmed_at is None:
                raise SecondFactorNotEnabled
            await uow.factors.delete_totp(user.id)
            if not await uow.factors.list_passkeys(user.id):  # the codes stand in for the last factor
                await uow.factors.replace_recovery_codes(user.id, [])
            await self._audit.record(uow, AuditEventType.SECOND_FACTOR_REMOVED, client, user.id, "totp")
            await self._notify(uow, user, MailKind.SECOND_FACTOR_REMOVED, client)
            await uow.commit()

    async def regenerate_recovery_codes(
        self, principal: Principal, password: str | None, client: Client = UNKNOWN_CLIENT
    ) -> list[str]:
        """New recovery codes after the password; every earlier one stops working.

        Raises:
            InvalidCredentials, RateLimited: see ``PasswordCheck.confirm``.
            SecondFactorNotEnabled: recovery codes back up a second factor the account lacks.
        """
        user = principal.user
        await self._password_check.confirm(principal, password, client)
        async with self._uow() as uow:
            if not await has_second_factor(uow, user.id):
                raise SecondFactorNotEnabled
            codes = await self._recovery_codes.new(uow, user.id)
            await self._audit.record(uow, AuditEventType.RECOVERY_CODES_REPLACED, client, user.id)
            await self._notify(uow, user, MailKind.RECOVERY_CODES_REPLACED, client)
            await uow.commit()
        return codes

    async def reauthenticate(
        self,
        principal: Principal,
        method: SecondFactorMethod | None,
        code: str | None,
        client: Client = UNKNOWN_CLIENT,
        password: str | None = None,
    ) -> datetime:
        """Prove again in this session who its owner is, before changes that need a recent proof:
        with the second factor (``method`` and ``code``) on an account that has one, else with
        the password.

        Returns:
            Until when the proof counts as recent (the policy's reauthentication window).

        ``WEBAUTHN``: ``code`` is ``JSON.stringify`` of a passkey's answer to the options of
        ``reauthentication_options``.

        Raises:
            InvalidInput: neither or both of a password and a method with its code; a malformed
                code; a password for an account whose second factor is its strongest proof.
            SecondFactorNotEnabled: a second-factor method on an account without one.
            InvalidCredentials: a wrong password (counted against the account, as at sign-in).
            InvalidOtp: a wrong code (counted the same way).
            InvalidPasskey: a passkey answer that is not acceptable (counted the same way).
            RateLimited: the account's failure streak says wait, or it is locked.
            InvalidAccessToken: the session ended meanwhile.
        """
        if password is not None:
            if method is not None or code is not None:
                raise InvalidInput.one("password", _ONE_PROOF)
            return await self._reauthenticate_with_password(principal, password, client)
        if method is None or code is None:
            raise InvalidInput.one("method" if method is None else "code", _ONE_PROOF)
        code = _normalised(method, code)
        user = principal.user
        async with self._uow() as uow:
            if not await has_second_factor(uow, user.id):
                raise SecondFactorNotEnabled
        failures = await self._throttle.begin_sign_in(user.email_key, client)
        now = self._clock.now()
        passkey_kind = await self._passkey_answer(user, method, code, client)
        async with self._uow() as uow:
            remaining = await self._proof(uow, user, method, code, passkey_kind)
            if remaining is not None:
                await self._sessions.proved(uow, principal.session_id, _amr(passkey_kind))
                await self._succeeded(uow, user, method, remaining, AuditEventType.REAUTHENTICATED, client)
                await uow.commit()
        await self._settled(remaining, failures, user, method, client)
        return now + self._policy.reauthentication_window

    async def _reauthenticate_with_password(self, principal: Principal, password: str, client: Client) -> datetime:
        async with self._uow() as uow:
            if await has_second_factor(uow, principal.user.id):
                raise InvalidInput.one("password", _STRONGER_PROOF)
        await self._password_check.confirm(principal, password, client)
        now = self._clock.now()
        async with self._uow() as uow:
            await self._sessions.proved(uow, principal.session_id, (AuthMethod.PASSWORD,))
            await self._audit.record(uow, AuditEventType.REAUTHENTICATED, client, principal.user.id, "password")
            await uow.commit()
        return now + self._policy.reauthentication_window

    async def reauthentication_options(self, principal: Principal) -> MfaRequired:
        """How this session may prove the second factor again (``reauthenticate``): the methods,
        and with passkeys the options for ``navigator.credentials.get``. The ticket is unused.

        Raises:
            SecondFactorNotEnabled: the account has no second factor.
        """
        user = principal.user
        async with self._uow() as uow:
            has_totp = await uow.factors.has_confirmed_totp(user.id)
            webauthn_options = await self._passkeys.second_step_options(uow, user)
            codes = await uow.factors.count_recovery_codes(user.id)
            await uow.commit()
        methods = [SecondFactorMethod.TOTP] if has_totp else []
        if codes:
            methods.append(SecondFactorMethod.RECOVERY_CODE)
        if webauthn_options is not None:
            methods.append(SecondFactorMethod.WEBAUTHN)
        if not methods:
            raise SecondFactorNotEnabled
        expires_at = self._clock.now() + self._policy.reauthentication_window
        return MfaRequired("", tuple(methods), expires_at, webauthn_options)

    async def _proved_in_session(self, uow: UnitOfWork, session_id: UUID) -> None:
        await self._sessions.proved(uow, session_id, WITH_SECOND_FACTOR)

    async def reset_by_operator(self, email: str) -> str | None:
        """Remove the second factors of ``email``'s account (authenticator app, recovery codes and
        passkeys), after an identity check done outside the gateway (the operator's
        ``reset-second-factors``); the owner gets the notice. Webhooks hear of each factor removed
        as they do from the API: ``user.factor_removed`` for the app, and for each passkey.

        Returns:
            The account's address, or ``None`` when no account has ``email``.
        """
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None:
                return None
            had_app = await uow.factors.has_confirmed_totp(user.id)
            await uow.factors.delete_totp(user.id)
            await uow.factors.replace_recovery_codes(user.id, [])
            for passkey in await uow.factors.list_passkeys(user.id):
                await uow.factors.delete_passkey(user.id, passkey.credential_id)
                await self._audit.record(uow, AuditEventType.PASSKEY_REMOVED, UNKNOWN_CLIENT, user.id, "operator")
            # The operator's act is audited even when there was no app; announced only when there was.
            await self._audit.record(
                uow, AuditEventType.SECOND_FACTOR_REMOVED, UNKNOWN_CLIENT, user.id, "operator", announce=had_app
            )
            await self._notify(uow, user, MailKind.SECOND_FACTOR_REMOVED, None)
            await uow.commit()
        return user.email

    # ---- signing in

    async def challenge(
        self, uow: UnitOfWork, user: User, first_factor: AuthMethod = AuthMethod.PASSWORD
    ) -> MfaRequired | None:
        """In the sign-in's unit of work, after its first step (``first_factor``: the right
        password, or a provider's word): a ticket for the second step if ``user`` has a second
        factor, else ``None`` (the sign-in completes now)."""
        has_totp = await uow.factors.has_confirmed_totp(user.id)
        webauthn_options = await self._passkeys.second_step_options(uow, user)
        if not has_totp and webauthn_options is None:
            return None
        ticket = secrets.token_urlsafe(32)
        expires_at = self._clock.now() + TICKET_LIFETIME
        await uow.factors.add_ticket(SignInTicket(_ticket_hash(ticket), user.id, expires_at, first_factor=first_factor))
        methods = [SecondFactorMethod.TOTP] if has_totp else []
        if await uow.factors.count_recovery_codes(user.id):
            methods.append(SecondFactorMethod.RECOVERY_CODE)
        if webauthn_options is not None:
            methods.append(SecondFactorMethod.WEBAUTHN)
        return MfaRequired(ticket, tuple(methods), expires_at, webauthn_options)

    async def complete_sign_in(
        self, ticket: str, method: SecondFactorMethod, code: str, client: Client = UNKNOWN_CLIENT
    ) -> SignedIn:
        """The second step for the sign-in of ``ticket``: ``code`` is the six digits from the app,
        a recovery code, or (``WEBAUTHN``) ``JSON.stringify`` of a passkey's answer to the
        ticket's ``webauthn_options``.

        Raises:
            InvalidInput: the code is malformed.
            InvalidTicket: unknown, expired, used or out of tries: sign in again.
            InvalidOtp: a wrong code (counted against the ticket and the account).
            InvalidPasskey: a passkey answer that is not acceptable (counted the same way).
            RateLimited: the account's failure streak says wait, or it is locked.
        """
        code = _normalised(method, code)
        ticket_hash = _ticket_hash(ticket) if 0 < len(ticket) <= CODE_MAX_LENGTH else ""
        async with self._uow() as uow:
            found = await uow.factors.get_ticket_for_update(ticket_hash) if ticket_hash else None
            user = await uow.users.get(found.user_id) if found is not None else None
        if found is None or user is None or found.expires_at <= self._clock.now():
            raise InvalidTicket
        failures = await self._throttle.begin_sign_in(user.email_key, client)
        passkey_kind = await self._passkey_answer(user, method, code, client)
        async with self._uow() as uow:
            current = await uow.factors.get_ticket_for_update(ticket_hash)
            if current is None or current.tries >= TICKET_TRIES:
                raise InvalidTicket
            remaining = await self._proof(uow, user, method, code, passkey_kind)
            if remaining is None:
                current.tries += 1
                await uow.factors.save_ticket(current)
            else:
                await uow.factors.delete_ticket(ticket_hash)
                amr = _amr(passkey_kind, first_factor=AuthMethod(current.first_factor))
                signed_in = await self._sessions.start(uow, user, client, amr)
                await self._succeeded(
                    uow, user, method, remaining, AuditEventType.LOGIN_SUCCEEDED, client, signed_in.session_id
                )
            await uow.commit()
        await self._settled(remaining, failures, user, method, client)
        return signed_in

    # ---- the proof of a second factor, shared by completeSignIn and reauthenticate

    async def _passkey_answer(
        self, user: User, method: SecondFactorMethod, code: str, client: Client
    ) -> AuthMethod | None:
        """With ``WEBAUTHN``: the kind of the passkey that answered (its use recorded), or ``None``.
        Checked before the caller's transaction: it takes its own (the challenge, the counter)."""
        if method is not SecondFactorMethod.WEBAUTHN:
            return None
        return await self._passkeys.second_step(user, code, client)

    async def _proof(
        self, uow: UnitOfWork, user: User, method: SecondFactorMethod, code: str, passkey_kind: AuthMethod | None
    ) -> int | None:
        """``None`` if the proof failed, else how many recovery codes are left (a code or an
        app step spent in ``uow``)."""
        if method is SecondFactorMethod.WEBAUTHN:
            return None if passkey_kind is None else await uow.factors.count_recovery_codes(user.id)
        return await self._accept(uow, user, method, code)

    async def _succeeded(
        self,
        uow: UnitOfWork,
        user: User,
        method: SecondFactorMethod,
        remaining: int,
        event: AuditEventType,
        client: Client,
        session_id: UUID | None = None,
    ) -> None:
        """A proof passed: the failure streak ends, and ``event`` (and a spent recovery code) is audited;
        ``session_id``: the session it started, if it signed in."""
        await self._throttle.sign_in_succeeded(uow, user.email_key)
        await self._audit.record(uow, event, client, user.id, method.value, session_id=session_id)
        if method is SecondFactorMethod.RECOVERY_CODE:
            await self._audit.record(uow, AuditEventType.RECOVERY_CODE_USED, client, user.id, str(remaining))
            mail = messages.recovery_code_used(
                user.email,
                self._policy.product_name,
                remaining,
                at=self._clock.now(),
                client=client,
                locale=self._policy.mail_locale(user.locale),
            )
            await self._outbox.queue(uow, mail)

    async def _settled(
        self, remaining: int | None, failures: int, user: User, method: SecondFactorMethod, client: Client
    ) -> None:
        """After the proof's transaction: a failure is counted and raised."""
        if remaining is None:
            await self._throttle.sign_in_failed(
                failures, AuditEventType.SECOND_FACTOR_FAILED, client, user.id, method.value
            )
            raise InvalidPasskey if method is SecondFactorMethod.WEBAUTHN else InvalidOtp

    async def _accept(self, uow: UnitOfWork, user: User, method: SecondFactorMethod, code: str) -> int | None:
        """Spend ``code`` if it is right: ``None`` if not, else how many recovery codes are left."""
        if method is SecondFactorMethod.RECOVERY_CODE:
            if not await uow.factors.use_recovery_code(user.id, self._recovery_codes.hash(code)):
                return None
            return await uow.factors.count_recovery_codes(user.id)
        factor = await uow.factors.get_totp_for_update(user.id)
        if factor is None or factor.confirmed_at is None:
            return None
        step = self._totp.matching_step(self._secret(factor), code, self._clock.now())
        # A code is good once: not again, and not an older one after a newer (replay).
        if step is None or (factor.last_step is not None and step <= factor.last_step):
            return None
        factor.last_step = step
        await uow.factors.put_totp(factor)
        return await uow.factors.count_recovery_codes(user.id)

    # ---- helpers

    def _secret(self, factor: TotpFactor) -> str:
        return self._sealer.open(factor.sealed_secret, factor.user_id.bytes).decode("ascii")

    async def _notify(self, uow: UnitOfWork, user: User, kind: MailKind, client: Client | None) -> None:
        """The owner hears of ``kind``, done from ``client`` (``None``: by an operator's command)."""
        locale = self._policy.mail_locale(user.locale)
        notice = messages.second_factor_notice(
            user.email, kind, self._policy.product_name, at=self._clock.now(), client=client, locale=locale
        )
        await self._outbox.queue(uow, notice)


def _normalised(method: SecondFactorMethod, code: str) -> str:
    """``code`` as its method checks it (a passkey's answer is checked by the passkey service)."""
    if method is SecondFactorMethod.TOTP:
        return _digits(code)
    if method is SecondFactorMethod.RECOVERY_CODE:
        return _recovery_code(code)
    return code


def _amr(passkey_kind: AuthMethod | None, first_factor: AuthMethod = AuthMethod.PASSWORD) -> tuple[AuthMethod, ...]:
    """How a sign-in with a first step (the password, or a provider) and a second factor
    authenticated (RFC 8176): the app's code, or the kind of passkey."""
    if passkey_kind is None and first_factor is AuthMethod.PASSWORD:
        return WITH_SECOND_FACTOR
    steps = (first_factor, passkey_kind or AuthMethod.ONE_TIME_PASSWORD, AuthMethod.MULTI_FACTOR)
    return tuple(dict.fromkeys(steps))  # an e-mail code, then the app's: "otp" once


def _digits(code: str) -> str:
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidInput.one("code", "Enter the six digits your authenticator app shows.")
    return code


def _recovery_code(code: str) -> str:
    cleaned = code.strip().replace("-", "").replace(" ", "").lower() if len(code) <= CODE_MAX_LENGTH else ""
    if not (len(cleaned) == RECOVERY_CODE_LENGTH and all(c in RECOVERY_CODE_ALPHABET for c in cleaned)):
        raise InvalidInput.one("code", "Enter one of your recovery codes, as it was shown (xxxxx-xxxxx).")
    return cleaned


async def has_second_factor(uow: UnitOfWork, user_id: UUID) -> bool:
    """Whether the account has an authenticator app (turned on) or a passkey."""
    return await uow.factors.has_confirmed_totp(user_id) or bool(await uow.factors.list_passkeys(user_id))
