"""The retention job: deletes what is past its time (``domain.retention``), batch by batch,
one process at a time, and again every interval while the server runs."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import timedelta

    from domain.policy import AuthPolicy
    from domain.ports import Clock, RetentionStore
    from domain.retention import RetentionCutoffs, RetentionPolicy

logger = logging.getLogger("gateway.retention")


@dataclass(frozen=True)
class RetentionReport:
    """What one run deleted: rows per table (named as in the database; the outbox's sent and dead
    items apart, as ``outbox_sent`` and ``outbox_dead``), in the order purged."""

    deleted: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


class RetentionJob:
    """Deletes the rows the retention policy says are past their time.

    Each table is purged in DELETEs of at most ``policy.batch_size`` rows, each in a
    transaction of its own, so a long backlog never holds locks for long nor keeps
    SQLite's one writer from the requests. The time is the clock's, read once per run.
    """

    def __init__(self, store: RetentionStore, clock: Clock, policy: RetentionPolicy, auth: AuthPolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy
        self._auth = auth

    async def run(self) -> RetentionReport | None:
        """One run; ``None`` when another process was running it on the same database.

        Logs one line with the count of each table (no personal data).
        """
        started = time.perf_counter()
        async with self._store.exclusive_run() as ours:
            if not ours:
                logger.info(
                    "retention: skipped, another process is purging this database",
                    extra={"fields": {"retention": "skipped"}},
                )
                return None
            cutoffs = self._policy.cutoffs(self._clock.now(), self._auth)
            deleted = {table: await self._purge(purge) for table, purge in self._purges(cutoffs)}
        report = RetentionReport(deleted)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        counts = ", ".join(f"{table} {count}" for table, count in deleted.items())
        logger.info(
            "retention: deleted %d rows (%s) in %s ms",
            report.total,
            counts,
            duration_ms,
            extra={"fields": {"retention": "done", "deleted": deleted, "duration_ms": duration_ms}},
        )
        return report

    async def run_every(self, interval: timedelta) -> None:
        """Run now and then every ``interval``, until cancelled. A failed run is logged and
        tried again at the next interval: it never ends the loop (nor the server)."""
        while True:
            try:
                await self.run()
            except Exception:  # the database away, a bug: the next run tries again
                logger.exception("retention: run failed; the next one is in %d s", interval.total_seconds())
            await asyncio.sleep(interval.total_seconds())

    def _purges(self, cutoffs: RetentionCutoffs) -> list[tuple[str, Callable[[int], Awaitable[int]]]]:
        store = self._store
        ended, used = cutoffs.sessions_ended_before, cutoffs.sessions_used_before
        purges: list[tuple[str, Callable[[int], Awaitable[int]]]] = [
            ("users", lambda limit: store.purge_unverified_accounts(cutoffs.unverified_created_before, limit)),
            # the tokens first, in batches of their own: a session may have thousands
            ("refresh_tokens", lambda limit: store.purge_refresh_tokens_of_ended_sessions(ended, used, limit)),
            ("sessions", lambda limit: store.purge_ended_sessions(ended, used, limit)),
            ("otp_challenges", lambda limit: store.purge_expired_codes(cutoffs.codes_expired_before, limit)),
            (
                "sign_in_tickets",
                lambda limit: store.purge_expired_sign_in_tickets(cutoffs.challenges_expired_before, limit),
            ),
            (
                "passkey_challenges",
                lambda limit: store.purge_expired_passkey_challenges(cutoffs.challenges_expired_before, limit),
            ),
            (
                "provider_sign_in_states",
                lambda limit: store.purge_expired_provider_states(cutoffs.challenges_expired_before, limit),
            ),
            (
                "provider_sign_in_codes",
                lambda limit: store.purge_expired_provider_codes(cutoffs.challenges_expired_before, limit),
            ),
            (
                "provider_link_tokens",
                lambda limit: store.purge_expired_provider_link_tokens(cutoffs.challenges_expired_before, limit),
            ),
            (
                "provider_email_confirmations",
                lambda limit: store.purge_expired_provider_email_confirmations(
                    cutoffs.challenges_expired_before, limit
                ),
            ),
            ("spent_id_tokens", lambda limit: store.purge_spent_id_tokens(cutoffs.challenges_expired_before, limit)),
            ("throttles", lambda limit: store.purge_expired_throttles(cutoffs.throttles_expired_before, limit)),
        ]
        audit_before = cutoffs.audit_before
        if audit_before is None:  # kept forever
            purges.append(("audit_events", _nothing))
        else:
            purges.append(("audit_events", lambda limit: store.purge_audit_events(audit_before, limit)))
        purges += [
            ("outbox_sent", lambda limit: store.purge_sent_outbox_items(cutoffs.outbox_sent_before, limit)),
            ("outbox_dead", lambda limit: store.purge_dead_outbox_items(cutoffs.outbox_dead_before, limit)),
            ("known_devices", lambda limit: store.purge_unseen_devices(cutoffs.devices_seen_before, limit)),
        ]
        return purges

    async def _purge(self, purge: Callable[[int], Awaitable[int]]) -> int:
        """Batches of ``purge`` until one comes back short: nothing is left past its time."""
        limit = self._policy.batch_size
        total = 0
        while True:
            deleted = await purge(limit)
            total += deleted
            if deleted < limit:
                return total


async def _nothing(_limit: int) -> int:
    return 0
