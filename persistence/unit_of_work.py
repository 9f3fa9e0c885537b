from __future__ import annotations

from typing import TYPE_CHECKING, Self

from tortoise.connection import get_connections
from tortoise.transactions import in_transaction

from persistence.audit_log import TortoiseAuditRepository
from persistence.factors import TortoiseFactorRepository
from persistence.outbox import TortoiseOutboxRepository
from persistence.provider_sign_ins import TortoiseProviderSignInRepository
from persistence.rate_counters import TortoiseThrottleRepository
from persistence.repositories import (
    TortoiseOtpRepository,
    TortoiseSessionRepository,
    TortoiseUserRepository,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContext


class _NotCommitted(Exception):
    """Handed to Tortoise's transaction exit so that it rolls back."""


class TortoiseUnitOfWork:
    """One database transaction; rolled back on leaving unless ``commit`` was called."""

    users: TortoiseUserRepository
    otps: TortoiseOtpRepository
    sessions: TortoiseSessionRepository
    throttles: TortoiseThrottleRepository
    audit: TortoiseAuditRepository
    factors: TortoiseFactorRepository
    providers: TortoiseProviderSignInRepository
    outbox: TortoiseOutboxRepository

    def __init__(self) -> None:
        self._transaction: TransactionContext | None = None
        self._committed = False
        self._after_commit: list[Callable[[], None]] = []

    async def __aenter__(self) -> Self:
        self._transaction = in_transaction()
        self._db = await self._transaction.__aenter__()
        self._repositories_on(self._db)
        return self

    def _repositories_on(self, db: BaseDBAsyncClient, *, in_transaction: bool = True) -> None:
        self.users = TortoiseUserRepository(db)
        self.otps = TortoiseOtpRepository(db)
        self.sessions = TortoiseSessionRepository(db)
        self.throttles = TortoiseThrottleRepository(db, in_transaction=in_transaction)
        self.audit = TortoiseAuditRepository(db)
        self.factors = TortoiseFactorRepository(db)
        self.providers = TortoiseProviderSignInRepository(db)
        self.outbox = TortoiseOutboxRepository(db)

    def after_commit(self, action: Callable[[], None]) -> None:
        self._after_commit.append(action)

    async def commit(self) -> None:
        await self._db.commit()
        self._committed = True
        self.audit.committed()
        for action in self._after_commit:
            action()
        self._after_commit.clear()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._transaction is not None
        if self._committed:
            await self._transaction.__aexit__(None, None, None)
        else:
            await self._transaction.__aexit__(exc_type or _NotCommitted, exc, tb)


class TortoiseReadOnlyUnitOfWork(TortoiseUnitOfWork):
    """Single statements on the pool, outside a transaction; it cannot commit.

    For a single query (the session check of every signed-in request) a transaction
    only adds BEGIN and ROLLBACK: two more round trips to the database that change nothing.
    The one write it is used for, a counter's hit (``ThrottleRepository.hit``), is a
    single statement too, atomic on its own.
    """

    async def __aenter__(self) -> Self:
        handler = get_connections()
        (name,) = handler.db_config  # the gateway configures one database
        self._repositories_on(handler.get(name), in_transaction=False)
        return self

    async def commit(self) -> None:
        raise TypeError("a read-only unit of work cannot commit")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None
