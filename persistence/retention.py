"""The retention job's queries: bounded DELETEs of rows past their time, and the lock that
lets one gateway process at a time run them on a PostgreSQL database."""

from __future__ import annotations

import contextlib
import hashlib
from typing import TYPE_CHECKING

from tortoise.connection import get_connections
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from persistence.models import (
    AuditEventRow,
    KnownDeviceRow,
    OtpChallengeRow,
    OutboxRow,
    PasskeyChallengeRow,
    PasskeyRow,
    ProviderEmailConfirmationRow,
    ProviderLinkTokenRow,
    ProviderSignInCodeRow,
    ProviderSignInStateRow,
    RecoveryCodeRow,
    RefreshTokenRow,
    SessionRow,
    SignInTicketRow,
    SpentIdTokenRow,
    ThrottleRow,
    TotpFactorRow,
    UserRow,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from tortoise.backends.base.client import BaseDBAsyncClient
    from tortoise.models import Model

# The key of the PostgreSQL advisory lock a run holds (visible in pg_locks as locktype
# 'advisory'): 64 bits of a hash of this name, so no other application's key is likely to match.
RETENTION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"auth-gateway retention").digest()[:8], "big", signed=True)

# What hangs off an account, deleted with an unconfirmed sign-up (refresh tokens via sessions).
_ACCOUNT_TABLES: tuple[type[Model], ...] = (
    OtpChallengeRow,
    SignInTicketRow,
    PasskeyChallengeRow,
    TotpFactorRow,
    RecoveryCodeRow,
    PasskeyRow,
)


def _database() -> BaseDBAsyncClient:
    handler = get_connections()
    (name,) = handler.db_config  # the gateway configures one database
    return handler.get(name)


def _ended(ended_before: datetime, used_before: datetime) -> Q:
    """Sessions that ended: revoked or expired before ``ended_before``, or idle since before ``used_before``."""
    return Q(revoked_at__lt=ended_before) | Q(expires_at__lt=ended_before) | Q(last_used_at__lt=used_before)


async def _delete_batch(model: type[Model], past_its_time: Q, limit: int) -> int:
    """Delete at most ``limit`` rows of ``model`` matching ``past_its_time``, in one statement.

    The condition is in the DELETE itself as well as in the subquery that picks the
    batch: a row that a concurrent transaction changed (a counter hit again) is judged
    again as it is then, and kept when it is no longer past its time.
    """
    pk = model._meta.pk_attr
    batch = model.filter(past_its_time).limit(limit).values(pk)
    query = model.filter(past_its_time, **{f"{pk}__in": Subquery(batch)})
    async with in_transaction() as connection:
        return await query.using_db(connection).delete()


class TortoiseRetentionStore:
    """Bounded DELETEs, each in a transaction of its own (``domain.ports.RetentionStore``)."""

    @contextlib.asynccontextmanager
    async def exclusive_run(self) -> AsyncIterator[bool]:
        database = _database()
        if database.capabilities.dialect != "postgres":
            # SQLite is one process's database (docs/operations.md, "Scaling"), and its one
            # writer takes the batches in turn: no lock is needed. Even `python server.py purge`
            # run beside a server only deletes, each row once, what both would delete.
            yield True
            return
        # A transaction-level advisory lock, taken in a transaction of its own on a connection
        # of its own and held while that transaction stays open for the whole run, as the
        # batches commit one by one on other connections. Whoever does not get it skips this
        # run. However the run ends, the transaction ends and the lock with it: committed here,
        # rolled back on an error, and rolled back by the pool for a connection handed back
        # with it open (the pool sends no other reset: persistence/config.py).
        async with database.acquire_connection() as connection, connection.transaction():
            if not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", RETENTION_LOCK_KEY):
                yield False
                return
            yield True

    async def purge_unverified_accounts(self, created_before: datetime, limit: int) -> int:
        unconfirmed = Q(email_verified=False, created_at__lt=created_before)
        async with in_transaction() as connection:
            # Locked, and judged again once locked: a sign-up confirmed meanwhile is not taken.
            # (Whole rows: Tortoise leaves FOR UPDATE out of values_list.)
            locked = await UserRow.filter(unconfirmed).limit(limit).select_for_update().using_db(connection)
            user_ids = [row.id for row in locked]
            if not user_ids:
                return 0
            # As when an account is deleted (AuditRepository.forget_account): the events stay,
            # without the account id, IP address and user agent.
            await (
                AuditEventRow.filter(user_id__in=user_ids)
                .using_db(connection)
                .update(user_id=None, client_ip=None, user_agent=None)
            )
            sessions = SessionRow.filter(user_id__in=user_ids).using_db(connection)
            session_ids = list(await sessions.values_list("id", flat=True))
            if session_ids:
                await RefreshTokenRow.filter(session_id__in=session_ids).using_db(connection).delete()
            await sessions.delete()
            for model in _ACCOUNT_TABLES:
                await model.filter(user_id__in=user_ids).using_db(connection).delete()
            return await UserRow.filter(unconfirmed, id__in=user_ids).using_db(connection).delete()

    async def purge_refresh_tokens_of_ended_sessions(
        self, ended_before: datetime, used_before: datetime, limit: int
    ) -> int:
        ended_sessions = SessionRow.filter(_ended(ended_before, used_before)).values("id")
        return await _delete_batch(RefreshTokenRow, Q(session_id__in=Subquery(ended_sessions)), limit)

    async def purge_ended_sessions(self, ended_before: datetime, used_before: datetime, limit: int) -> int:
        ended = _ended(ended_before, used_before)
        async with in_transaction() as connection:
            batch = SessionRow.filter(ended).limit(limit).using_db(connection)
            session_ids = list(await batch.values_list("id", flat=True))
            if not session_ids:
                return 0
            # usually none left: purge_refresh_tokens_of_ended_sessions ran first
            await RefreshTokenRow.filter(session_id__in=session_ids).using_db(connection).delete()
            return await SessionRow.filter(ended, id__in=session_ids).using_db(connection).delete()

    async def purge_expired_codes(self, expired_before: datetime, limit: int) -> int:
        return await _delete_batch(OtpChallengeRow, Q(expires_at__lt=expired_before), limit)

    async def purge_expired_sign_in_tickets(self, expired_before: datetime, limit: int) -> int:
        return await _delete_batch(SignInTicketRow, Q(expires_at__lt=expired_before), limit)

    async def purge_expired_passkey_challenges(self, expired_before: datetime, limit: int) -> int:
        return await _delete_batch(PasskeyChallengeRow, Q(expires_at__lt=expired_before), limit)

    async def purge_expired_provider_states(self, expired_before: datetime, limit: int) -> int:
        return await _delete_batch(ProviderSignInStateRow, Q(expires_at__lt=expired_before), limit)

    async def purge_expired_provider_codes(self, expired_before: datetime, limit: int) -> int:
        return await _delete_batch(ProviderSignInCodeRow, Q(expires_at__lt=expired_before), limit)

    async def purge_expired_provider_link_tokens(self, expired_before: datetime, limit: int) -> int:
        return await _delete_batch(ProviderLinkTokenRow, Q(expires_at__lt=expired_before), limit)

    async def purge_expired_provider_email_confirmations(self, expired_before: datetime, limit: int) -> int:
        return await _delete_batch(ProviderEmailConfirmationRow, Q(expires_at__lt=expired_before), limit)

    async def purge_spent_id_tokens(self, expired_before: datetime, limit: int) -> int:
        return await _delete_batch(SpentIdTokenRow, Q(expires_at__lt=expired_before), limit)

    async def purge_expired_throttles(self, expired_before: datetime, limit: int) -> int:
        # A row without expires_at (NULL matches no comparison) holds a locked account: it stays.
        return await _delete_batch(ThrottleRow, Q(expires_at__lt=expired_before), limit)

    async def purge_audit_events(self, occurred_before: datetime, limit: int) -> int:
        return await _delete_batch(AuditEventRow, Q(occurred_at__lt=occurred_before), limit)

    async def purge_sent_outbox_items(self, sent_before: datetime, limit: int) -> int:
        return await _delete_batch(OutboxRow, Q(sent_at__lt=sent_before), limit)

    async def purge_dead_outbox_items(self, dead_before: datetime, limit: int) -> int:
        # judged again in the DELETE: an item `outbox retry` revived meanwhile (dead_at NULL) stays
        return await _delete_batch(OutboxRow, Q(dead_at__lt=dead_before), limit)

    async def purge_unseen_devices(self, seen_before: datetime, limit: int) -> int:
        # Only of accounts seen since on some device: a dormant account keeps its devices, or its
        # next sign-in would find none and count as its first (no new-device notice).
        active = KnownDeviceRow.filter(last_seen_at__gte=seen_before).values("user_id")
        return await _delete_batch(KnownDeviceRow, Q(last_seen_at__lt=seen_before, user_id__in=Subquery(active)), limit)
