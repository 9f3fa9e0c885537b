from __future__ import annotations

from typing import TYPE_CHECKING

from domain.errors import EmailNotVerified, InvalidCredentials
from domain.validation import PASSWORD_MAX_LENGTH, InputCollector, is_text, normalise_email, normalise_password

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import SignedIn
    from domain.ports import PasswordHasher, UnitOfWork
    from domain.services.otp_sender import OtpSender
    from domain.services.session_starter import SessionStarter


class LoginService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        passwords: PasswordHasher,
        otp_sender: OtpSender,
        sessions: SessionStarter,
    ) -> None:
        self._uow = uow
        self._passwords = passwords
        self._otp_sender = otp_sender
        self._sessions = sessions

    async def login(self, email: str, password: str) -> SignedIn:
        """Sign in with e-mail and password.

        Raises:
            InvalidInput: the address is malformed or the password empty or too long.
            InvalidCredentials: unknown address or wrong password (indistinguishable,
                in answer and in time).
            EmailNotVerified: right password, address not yet confirmed; a fresh
                code has been mailed.
            DeliveryFailed: that fresh code could not be mailed.
        """
        errors = InputCollector()
        email = normalise_email(email, errors)
        password = normalise_password(password)
        if not password:
            errors.add("password", "Enter your password.")
        elif not is_text(password):
            errors.add("password", "The password contains characters that cannot be stored.")
        elif len(password) > PASSWORD_MAX_LENGTH:
            errors.add("password", f"Passwords have at most {PASSWORD_MAX_LENGTH} characters.")
        errors.raise_if_any()

        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
        # bcrypt runs outside any transaction: it is slow by design and must not hold a lock.
        if user is None:
            await self._passwords.verify_dummy(password)
            raise InvalidCredentials
        if not await self._passwords.verify(password, user.password_hash):
            raise InvalidCredentials
        new_hash = await self._passwords.hash(password) if self._passwords.needs_rehash(user.password_hash) else None

        async with self._uow() as uow:
            current = await uow.users.get(user.id)
            if current is None:  # deleted while we were hashing
                raise InvalidCredentials
            if not current.email_verified:
                await self._otp_sender.send(uow, current)
                await uow.commit()
                raise EmailNotVerified(current.email)
            if new_hash is not None and current.password_hash == user.password_hash:
                current.password_hash = new_hash
                await uow.users.save(current)
            signed_in = await self._sessions.start(uow, current)
            await uow.commit()
            return signed_in
