"""The retention job on a fake store: what is old by the policy, batches until nothing is left,
a run skipped when another process has it, one log line, and a loop that outlives failures."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.entities import User
from domain.policy import AuthPolicy
from domain.retention import AFTER_EXPIRY, RetentionPolicy
from domain.services.retention import RetentionJob
from tests.unit.fakes import FixedClock
from tests.unit.gateway import START

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

DAY = timedelta(days=1)


class FakeRetentionStore:
    """Hands out ``backlog[table]`` rows, at most ``limit`` per call, and records the cutoffs it was given."""

    def __init__(self, backlog: dict[str, int] | None = None, *, exclusive: bool = True) -> None:
        self.backlog = dict(backlog or {})
        self.exclusive = exclusive
        self.calls: list[tuple[str, tuple[datetime, ...], int]] = []
        self.failures: list[Exception] = []  # raised, one per run, by the first purge
        self.reached_the_last_table = asyncio.Event()

    @asynccontextmanager
    async def exclusive_run(self) -> AsyncIterator[bool]:
        yield self.exclusive

    def _take(self, table: str, cutoffs: tuple[datetime, ...], limit: int) -> int:
        if self.failures:
            raise self.failures.pop(0)
        self.calls.append((table, cutoffs, limit))
        taken = min(limit, self.backlog.get(table, 0))
        self.backlog[table] = self.backlog.get(table, 0) - taken
        return taken

    async def purge_unverified_accounts(self, created_before: datetime, limit: int) -> int:
        return self._take("users", (created_before,), limit)

    async def purge_refresh_tokens_of_ended_sessions(
        self, ended_before: datetime, used_before: datetime, limit: int
    ) -> int:
        return self._take("refresh_tokens", (ended_before, used_before), limit)

    async def purge_ended_sessions(self, ended_before: datetime, used_before: datetime, limit: int) -> int:
        return self._take("sessions", (ended_before, used_before), limit)

    async def purge_expired_codes(self, expired_before: datetime, limit: int) -> int:
        return self._take("otp_challenges", (expired_before,), limit)

    async def purge_expired_sign_in_tickets(self, expired_before: datetime, limit: int) -> int:
        return self._take("sign_in_tickets", (expired_before,), limit)

    async def purge_expired_passkey_challenges(self, expired_before: datetime, limit: int) -> int:
        return self._take("passkey_challenges", (expired_before,), limit)

    async def purge_expired_provider_states(self, expired_before: datetime, limit: int) -> int:
        return self._take("provider_sign_in_states", (expired_before,), limit)

    async def purge_expired_provider_codes(self, expired_before: datetime, limit: int) -> int:
        return self._take("provider_sign_in_codes", (expired_before,), limit)

    async def purge_expired_provider_link_tokens(self, expired_before: datetime, limit: int) -> int:
        return self._take("provider_link_tokens", (expired_before,), limit)

    async def purge_expired_provider_email_confirmations(self, expired_before: datetime, limit: int) -> int:
        return self._take("provider_email_confirmations", (expired_before,), limit)

    async def purge_spent_id_tokens(self, expired_before: datetime, limit: int) -> int:
        return self._take("spent_id_tokens", (expired_before,), limit)

    async def purge_expired_throttles(self, expired_before: datetime, limit: int) -> int:
        return self._take("throttles", (expired_before,), limit)

    async def purge_audit_events(self, occurred_before: datetime, limit: int) -> int:
        return self._take("audit_events", (occurred_before,), limit)

    async def purge_sent_outbox_items(self, sent_before: datetime, limit: int) -> int:
        return self._take("outbox_sent", (sent_before,), limit)

    async def purge_dead_outbox_items(self, dead_before: datetime, limit: int) -> int:
        return self._take("outbox_dead", (dead_before,), limit)

    async def purge_unseen_devices(self, seen_before: datetime, limit: int) -> int:
        self.reached_the_last_table.set()
        return self._take("known_devices", (seen_before,), limit)

    def cutoffs_of(self, table: str) -> set[tuple[datetime, ...]]:
        return {cutoffs for name, cutoffs, _ in self.calls if name == table}


def a_job(store: FakeRetentionStore, clock: FixedClock, policy: RetentionPolicy | None = None) -> RetentionJob:
    auth = AuthPolicy(unverified_account_lifetime=7 * DAY, refresh_idle_lifetime=14 * DAY)
    return RetentionJob(store, clock, policy or RetentionPolicy(), auth)


async def test_what_is_old_is_measured_from_the_clock(clock: FixedClock) -> None:
    clock.advance(3 * DAY)
    now = clock.now()
    store = FakeRetentionStore()
    policy = RetentionPolicy(
        ended_session_grace=2 * DAY,
        audit_lifetime=30 * DAY,
        outbox_sent_lifetime=3 * DAY,
        outbox_dead_lifetime=20 * DAY,
        known_device_lifetime=100 * DAY,
    )
    await a_job(store, clock, policy).run()
    assert store.cutoffs_of("users") == {(now - 7 * DAY - AFTER_EXPIRY,)}
    assert store.cutoffs_of("sessions") == {(now - 2 * DAY, now - 14 * DAY - 2 * DAY)}
    assert store.cutoffs_of("refresh_tokens") == store.cutoffs_of("sessions")
    assert store.cutoffs_of("otp_challenges") == {(now - AFTER_EXPIRY,)}
    assert store.cutoffs_of("sign_in_tickets") == {(now,)}
    assert store.cutoffs_of("passkey_challenges") == {(now,)}
    assert store.cutoffs_of("provider_sign_in_states") == {(now,)}
    assert store.cutoffs_of("provider_sign_in_codes") == {(now,)}
    assert store.cutoffs_of("provider_link_tokens") == {(now,)}
    assert store.cutoffs_of("provider_email_confirmations") == {(now,)}
    assert store.cutoffs_of("spent_id_tokens") == {(now,)}
    assert store.cutoffs_of("throttles") == {(now,)}
    assert store.cutoffs_of("audit_events") == {(now - 30 * DAY,)}
    assert store.cutoffs_of("outbox_sent") == {(now - 3 * DAY,)}
    assert store.cutoffs_of("outbox_dead") == {(now - 20 * DAY,)}
    assert store.cutoffs_of("known_devices") == {(now - 100 * DAY,)}


def a_sign_up(created_at: datetime) -> User:
    return User(uuid.uuid4(), "ann@example.com", "hash", None, None, email_verified=False, created_at=created_at)


def test_an_unconfirmed_sign_up_is_purged_only_once_the_rules_no_longer_count_it() -> None:
    """The pre-hijacking rule: a sign-up the purge may take has been no account for a day
    (``AuthPolicy.account``), so it blocks nobody; one that still counts is never taken."""
    auth = AuthPolicy(unverified_account_lifetime=7 * DAY)
    cutoff = RetentionPolicy().cutoffs(START, auth).unverified_created_before
    purged = a_sign_up(cutoff - timedelta(microseconds=1))
    assert auth.account(purged, START) is None
    assert auth.account(purged, START - AFTER_EXPIRY) is None
    still_counted = a_sign_up(START - 7 * DAY + timedelta(seconds=1))
    assert auth.account(still_counted, START) is still_counted
    assert still_counted.created_at >= cutoff


async def test_each_table_is_purged_in_batches_until_one_comes_back_short(clock: FixedClock) -> None:
    store = FakeRetentionStore({"throttles": 7, "sessions": 3, "audit_events": 2})
    report = await a_job(store, clock, RetentionPolicy(batch_size=3)).run()
    assert report is not None
    assert report.deleted["throttles"] == 7
    assert [limit for table, _, limit in store.calls if table == "throttles"] == [3, 3, 3]  # 3, 3, 1
    assert [table for table, _, _ in store.calls if table == "sessions"] == ["sessions", "sessions"]  # 3, then 0
    assert report.deleted == {
        "users": 0,
        "refresh_tokens": 0,
        "sessions": 3,
        "otp_challenges": 0,
        "sign_in_tickets": 0,
        "passkey_challenges": 0,
        "provider_sign_in_states": 0,
        "provider_sign_in_codes": 0,
        "provider_link_tokens": 0,
        "provider_email_confirmations": 0,
        "spent_id_tokens": 0,
        "throttles": 7,
        "audit_events": 2,
        "outbox_sent": 0,
        "outbox_dead": 0,
        "known_devices": 0,
    }
    assert report.total == 12


async def test_audit_events_kept_forever_are_never_asked_for(clock: FixedClock) -> None:
    store = FakeRetentionStore({"audit_events": 5})
    report = await a_job(store, clock, RetentionPolicy(audit_lifetime=None)).run()
    assert report is not None
    assert report.deleted["audit_events"] == 0
    assert store.cutoffs_of("audit_events") == set()


async def test_a_run_another_process_holds_is_skipped(clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    store = FakeRetentionStore({"throttles": 4}, exclusive=False)
    with caplog.at_level(logging.INFO, logger="gateway.retention"):
        assert await a_job(store, clock).run() is None
    assert store.calls == []
    [line] = caplog.records
    assert line.getMessage() == "retention: skipped, another process is purging this database"


async def test_a_run_logs_one_line_of_counts(clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    store = FakeRetentionStore({"users": 1, "throttles": 2})
    with caplog.at_level(logging.INFO, logger="gateway.retention"):
        await a_job(store, clock).run()
    [line] = caplog.records
    assert line.levelno == logging.INFO
    assert line.getMessage().startswith(
        "retention: deleted 3 rows (users 1, refresh_tokens 0, sessions 0, otp_challenges 0, sign_in_tickets 0, "
        "passkey_challenges 0, provider_sign_in_states 0, provider_sign_in_codes 0, "
        "provider_link_tokens 0, provider_email_confirmations 0, spent_id_tokens 0, throttles 2, audit_events 0, "
        "outbox_sent 0, outbox_dead 0, known_devices 0) in "
    )
    fields = line.fields  # type: ignore[attr-defined]  # given as extra={"fields": ...}
    assert fields["retention"] == "done"
    assert fields["deleted"]["throttles"] == 2


async def test_the_loop_outlives_a_failed_run(clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    store = FakeRetentionStore({"throttles": 1})
    store.failures.append(ConnectionRefusedError("the database is away"))
    job = a_job(store, clock)
    with caplog.at_level(logging.INFO, logger="gateway.retention"):
        loop = asyncio.create_task(job.run_every(timedelta(0)))
        await asyncio.wait_for(store.reached_the_last_table.wait(), timeout=5)  # the second run
        await asyncio.sleep(0)  # which then logs its line
        loop.cancel()
        await asyncio.wait([loop])
    failed, done = caplog.records[:2]
    assert (failed.levelno, failed.getMessage()) == (logging.ERROR, "retention: run failed; the next one is in 0 s")
    assert failed.exc_info is not None
    assert done.getMessage().startswith("retention: deleted 1 rows")
    assert loop.cancelled()
