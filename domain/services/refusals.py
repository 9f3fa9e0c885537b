"""Refusals whose bookkeeping must outlive them: a counted wrong code, an audited rate limit.

A helper that refuses (``OtpChecker.consume``, ``Throttle.check_in``) records what the
refusal costs in the caller's unit of work and raises ``Counted``; it never commits the
caller's transaction itself. The service that owns the unit of work opens it with
``committing_refusals``, which commits that bookkeeping, and only it, before the
refusal reaches the caller as the domain error it carries.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from domain.errors import AuthError
    from domain.ports import UnitOfWork


class Counted(Exception):
    """``error``, once what the refusal recorded is committed."""

    def __init__(self, error: AuthError) -> None:
        super().__init__(str(error))
        self.error = error


@asynccontextmanager
async def committing_refusals(uow: UnitOfWork) -> AsyncIterator[None]:
    """Inside ``async with uow``: a ``Counted`` refusal commits the unit of work, then raises its error.

    Whatever the service wrote before the refusal is committed with it, as a helper that
    committed the caller's unit of work did before; services refuse before they write.
    """
    try:
        yield
    except Counted as refusal:
        await uow.commit()
        raise refusal.error from None
