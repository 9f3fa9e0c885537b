from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import AuditEventType
from domain.errors import InvalidCredentials
from domain.services.throttle import PASSWORD_CHECKS_PER_ACCOUNT, PASSWORD_CHECKS_PER_IP
from domain.validation import PASSWORD_MAX_LENGTH, is_text, normalise_password

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import Client, User
    from domain.ports import PasswordHasher, UnitOfWork
    from domain.services.throttle import Throttle


class PasswordCheck:
    """Asks a signed-in person for their password again before a change that matters.

    Each check counts against the same failure streak as signing in, so a stolen
    access token cannot be used to guess the password any faster than the
    sign-in form allows. Every check, right or wrong, also spends the account's
    and the client's budget of checks before bcrypt runs: a signed-in caller
    cannot make the gateway hash without end.
    """

    def __init__(self, uow: Callable[[], UnitOfWork], passwords: PasswordHasher, throttle: Throttle) -> None:
        self._uow = uow
        self._passwords = passwords
        self._throttle = throttle

    async def confirm(self, user: User, password: str, client: Client) -> None:
        """Pass if ``password`` is ``user``'s; the right one ends the failure streak.

        Raises:
            InvalidCredentials: wrong password (counted).
            RateLimited: too many checks, or failures in a row, for this account or
                client; nothing was checked.
        """
        await self._throttle.check_client(PASSWORD_CHECKS_PER_IP, client)
        await self._throttle.check(PASSWORD_CHECKS_PER_ACCOUNT, str(user.id), client)
        failures = await self._throttle.begin_sign_in(user.email_key, client)
        password = normalise_password(password)
        acceptable = bool(password) and is_text(password) and len(password) <= PASSWORD_MAX_LENGTH
        if not (acceptable and await self._passwords.verify(password, user.password_hash)):
            await self._throttle.sign_in_failed(failures, AuditEventType.PASSWORD_CHECK_FAILED, client, user.id)
            raise InvalidCredentials
        async with self._uow() as uow:
            await self._throttle.sign_in_succeeded(uow, user.email_key)
            await uow.commit()
