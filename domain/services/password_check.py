from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import AuditEventType
from domain.errors import InvalidCredentials, ReauthenticationRequired
from domain.services.second_factors import has_second_factor
from domain.services.throttle import PASSWORD_CHECKS_PER_ACCOUNT, PASSWORD_CHECKS_PER_IP
from domain.validation import PASSWORD_MAX_LENGTH, is_text, normalise_password

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import Client, Principal
    from domain.policy import AuthPolicy
    from domain.ports import Clock, PasswordHasher, UnitOfWork
    from domain.services.throttle import Throttle


class PasswordCheck:
    """Asks a signed-in person for their password again before a change that matters.

    Each check counts against the same failure streak as signing in, so a stolen
    access token cannot be used to guess the password any faster than the
    sign-in form allows. Every check, right or wrong, also spends the account's
    and the client's budget of checks before bcrypt runs: a signed-in caller
    cannot make the gateway hash without end.

    On an account with a second factor the password is not enough: the session must
    also have proved that factor within the policy's reauthentication window (by
    signing in with it, or by ``reauthenticate``), else ``ReauthenticationRequired``.

    Without a password, a session that proved its owner within that window (signing
    in, or ``reauthenticate``) is enough, at the account's strongest level.
    """

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        passwords: PasswordHasher,
        throttle: Throttle,
        clock: Clock,
        policy: AuthPolicy,
    ) -> None:
        self._uow = uow
        self._passwords = passwords
        self._throttle = throttle
        self._clock = clock
        self._policy = policy

    async def confirm(self, principal: Principal, password: str | None, client: Client) -> None:
        """Pass if the signed-in person has just proved who they are.

        With ``password``: it must be theirs (and, with a second factor, the session must have
        proved that factor within the window); the right password ends the failure streak.
        Without: the session itself must have proved its owner within the window, by signing
        in or by ``reauthenticate``, at the account's strongest level (the second factor when
        it has one).

        Raises:
            ReauthenticationRequired: no recent enough proof in this session; nothing was checked.
            InvalidCredentials: wrong password (counted).
            RateLimited: too many checks, or failures in a row, for this account or
                client; nothing was checked.
        """
        if password is None:
            await self._require_recent_proof(principal, second_factor_only=False)
            return
        user = principal.user
        await self._require_recent_proof(principal, second_factor_only=True)
        await self._throttle.check_client(PASSWORD_CHECKS_PER_IP, client)
        await self._throttle.check(PASSWORD_CHECKS_PER_ACCOUNT, str(user.id), client)
        failures = await self._throttle.begin_sign_in(user.email_key, client)
        password = normalise_password(password)
        acceptable = bool(password) and is_text(password) and len(password) <= PASSWORD_MAX_LENGTH
        if acceptable and user.password_hash is None:  # no password to match: as slow as one
            await self._passwords.verify_dummy(password)
            acceptable = False
        if not (acceptable and user.password_hash and await self._passwords.verify(password, user.password_hash)):
            await self._throttle.sign_in_failed(failures, AuditEventType.PASSWORD_CHECK_FAILED, client, user.id)
            raise InvalidCredentials
        async with self._uow() as uow:
            await self._throttle.sign_in_succeeded(uow, user.email_key)
            await uow.commit()

    async def _require_recent_proof(self, principal: Principal, *, second_factor_only: bool) -> None:
        """Raise ``ReauthenticationRequired`` unless the session proved its owner within the
        reauthentication window, with the second factor if the account has one.
        ``second_factor_only``: an account without a second factor needs no recent proof
        (its password is being checked instead)."""
        async with self._uow() as uow:
            with_factor = await has_second_factor(uow, principal.user.id)
            if second_factor_only and not with_factor:
                return
            session = await uow.sessions.get_for_update(principal.session_id)
        if (
            session is None
            or (with_factor and not session.with_second_factor)
            or self._clock.now() - session.auth_time > self._policy.reauthentication_window
        ):
            raise ReauthenticationRequired
