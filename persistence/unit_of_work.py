from __future__ import annotations

from typing import TYPE_CHECKING, Self

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
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
        self.throttles = TortoiseThrottleRepository(db, in_transaction=in_transaction)
        self.sessions = TortoiseSessionRepository(db, self.throttles)
        self.audit = TortoiseAuditRepository(db, autocommit=not in_transaction)
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
    """Single statements outside a transaction, each atomic and committed on its own; it cannot commit.

    For a single query (the session check of every signed-in request) a transaction
    only adds BEGIN and ROLLBACK: two more round trips to the database that change nothing.
    Its writes are single statements, atomic on their own: a counter's hit
    (``ThrottleRepository.hit``), a rotation's compare-and-set (``SessionRepository.rotate``),
    an audit event (logged as soon as it is written). On PostgreSQL the statements share one
    pooled connection, taken on entering and given back on leaving: a pool's acquire and
    release cost more than a short statement. So nothing slow may run inside it, and no
    other unit of work may be opened inside it (a request holding one connection while
    waiting for another could wait for ever once the pool is exhausted).
    """

    _held: _HeldConnection | None = None

    async def __aenter__(self) -> Self:
        handler = get_connections()
        (name,) = handler.db_config  # the gateway configures one database
        client = handler.get(name)
        if isinstance(client, AsyncpgDBClient):
            self._held = await _HeldConnection.take(client)
            client = self._held
        self._repositories_on(client, in_transaction=False)
        return self

    async def commit(self) -> None:
        raise TypeError("a read-only unit of work cannot commit")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._held is not None:
            await self._held.give_back()


class _HeldConnection(TransactionWrapper):
    """A pooled PostgreSQL connection that Tortoise runs statements on without BEGIN:
    each commits on its own, as on the pool itself."""

    @classmethod
    async def take(cls, client: AsyncpgDBClient) -> _HeldConnection:
        if client._pool is None:  # the pool is made on first use
            async with client._pool_init_lock:
                if client._pool is None:
                    await client.create_connection(with_db=True)
        pool = client._pool
        assert pool is not None
        held = cls(client)
        held._connection = await pool.acquire()
        return held

    async def give_back(self) -> None:
        pool = self._parent._pool
        if pool is not None:  # None: the database was closed meanwhile (shutdown)
            await pool.release(self._connection)
