"""What every way of making an account shares: a sign-up nobody confirmed gives way to it, and
the code requests that may make one are counted the same way."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from domain.entities import User, email_key
from domain.validation import InputCollector, normalise_email

if TYPE_CHECKING:
    from datetime import datetime

    from domain.entities import Client
    from domain.ports import UnitOfWork
    from domain.services.throttle import Throttle


async def discard_unconfirmed(uow: UnitOfWork, sign_up: User) -> None:
    """Remove a sign-up nobody confirmed, with what identifies its maker in the audit log: its
    password was chosen before anyone proved the address, so it must not survive into an
    account that someone proves now."""
    await uow.audit.forget_account(sign_up.id)
    await uow.users.delete(sign_up.id)


async def add_account(
    uow: UnitOfWork,
    email: str,
    now: datetime,
    *,
    verified: bool,
    replacing: User | None = None,
    password_hash: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    locale: str | None = None,
) -> User:
    """Add an account at ``email`` in place of ``replacing``, the unconfirmed sign-up that had
    the address (if any); without ``password_hash`` (a provider's, a sign-in code's) it has no password."""
    if replacing is not None:
        await discard_unconfirmed(uow, replacing)
    user = User(
        id=uuid.uuid4(),
        email=email,
        password_hash=password_hash,
        first_name=first_name,
        last_name=last_name,
        email_verified=verified,
        created_at=now,
        locale=locale,
    )
    await uow.users.add(user)
    return user


async def admitted_code_request(throttle: Throttle, limit: str, email: str, client: Client) -> str:
    """The address of a request that mails a code, once it is counted: the client's requests
    (``limit``), the address's form, then the mails to the address.

    Raises:
        RateLimited: too many requests from this client, or mails to this address.
        InvalidInput: ``email`` is not an e-mail address.
    """
    await throttle.check_client(limit, client)
    errors = InputCollector()
    email = normalise_email(email, errors)
    errors.raise_if_any()
    await throttle.check_code_request(email_key(email), client)
    return email
