"""The retention job against real SQLite and PostgreSQL databases: what is past its time goes,
in bounded batches, and nothing live is touched; on PostgreSQL one process runs it at a time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from domain.policy import AuthPolicy
from domain.retention import RetentionPolicy
from domain.services.retention import RetentionJob, RetentionReport
from persistence.models import AuditEventRow, KnownDeviceRow, ThrottleRow, UserRow
from persistence.retention import RETENTION_LOCK_KEY, TortoiseRetentionStore
from tests.support.aged_rows import DELETED, AgedRows, keys_in
from tests.support.databases import admin_connect

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("database")


class At:
    """The domain clock, standing at one moment."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def a_job(policy: RetentionPolicy | None = None, store: TortoiseRetentionStore | None = None) -> RetentionJob:
    return RetentionJob(store or TortoiseRetentionStore(), At(NOW), policy or RetentionPolicy(), AuthPolicy())


async def seeded() -> AgedRows:
    rows = AgedRows(NOW)
    await rows.seed()
    return rows


# SQLite is one process's database, its transactions one at a time: no lock, nothing in between.
on_postgres = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class TestWhatGoesAndWhatStays:
    async def test_rows_past_their_time_go_and_live_ones_stay(self) -> None:
        rows = await seeded()
        report = await a_job().run()
        assert report is not None
        assert report.deleted == DELETED
        assert await rows.problems() == []

    async def test_the_stale_sign_up_s_audit_events_stay_without_who_and_where(self) -> None:
        rows = await seeded()
        await a_job().run()
        [event] = await AuditEventRow.filter(id=rows.stale_sign_up_event).values(
            "event", "user_id", "client_ip", "user_agent"
        )
        assert event == {"event": "login_succeeded", "user_id": None, "client_ip": None, "user_agent": None}
        # the verified account's events still name it
        assert await AuditEventRow.filter(user_id__isnull=False, client_ip="192.0.2.7").count() == 1

    async def test_a_second_run_finds_nothing(self) -> None:
        rows = await seeded()
        await a_job().run()
        again = await a_job().run()
        assert again is not None
        assert again.total == 0
        assert await rows.problems() == []

    async def test_a_verified_account_is_never_purged_however_old(self) -> None:
        rows = await seeded()
        far_later = RetentionJob(
            TortoiseRetentionStore(), At(NOW + timedelta(days=5000)), RetentionPolicy(), AuthPolicy()
        )
        await far_later.run()
        verified = {key for key in rows.kept["users"] if "verified account" in rows.names[key]}
        assert verified <= await keys_in("users")
        assert await UserRow.filter(email_verified=True).count() == 2
        # ... nor the account's own factors; and a locked account's counter outlives everything
        assert await keys_in("totp_factors") == rows.kept["totp_factors"]
        assert await keys_in("recovery_codes") == rows.kept["recovery_codes"]
        assert await keys_in("passkeys") == rows.kept["passkeys"]
        assert await keys_in("throttles") == {"c" * 64}

    async def test_audit_events_kept_forever_when_asked(self) -> None:
        await seeded()
        before = await keys_in("audit_events")
        report = await a_job(RetentionPolicy(audit_lifetime=None)).run()
        assert report is not None
        assert report.deleted["audit_events"] == 0
        assert await keys_in("audit_events") == before

    async def test_a_dormant_accounts_old_devices_go_once_it_signs_in_again(self) -> None:
        rows = await seeded()
        [eve] = [key for key in rows.kept["users"] if "not signed in for a year" in rows.names[key]]
        [old] = [key for key in rows.kept["known_devices"] if "unseen for 300 days" in rows.names[key]]
        await a_job().run()
        assert old in await keys_in("known_devices")
        await KnownDeviceRow.create(user_id=eve, device_hash="f" * 64, last_seen_at=NOW)
        report = await a_job().run()
        assert report is not None
        assert report.deleted["known_devices"] == 1
        assert old not in await keys_in("known_devices")

    async def test_longer_outbox_and_device_periods_keep_more(self) -> None:
        await seeded()
        before = {table: await keys_in(table) for table in ("outbox", "known_devices")}
        longer = RetentionPolicy(
            outbox_sent_lifetime=timedelta(days=9),
            outbox_dead_lifetime=timedelta(days=32),
            known_device_lifetime=timedelta(days=200),
        )
        report = await a_job(longer).run()
        assert report is not None
        assert (report.deleted["outbox_sent"], report.deleted["outbox_dead"], report.deleted["known_devices"]) == (
            0,
            0,
            0,
        )
        assert {table: await keys_in(table) for table in before} == before

    async def test_a_longer_grace_keeps_ended_sessions_longer(self) -> None:
        rows = await seeded()
        report = await a_job(RetentionPolicy(ended_session_grace=timedelta(days=30))).run()
        assert report is not None
        assert (report.deleted["sessions"], report.deleted["refresh_tokens"]) == (0, 0)
        assert await keys_in("sessions") == rows.gone["sessions"] | rows.kept["sessions"]


class CountingStore(TortoiseRetentionStore):
    """The real store, telling what each DELETE of counters deleted."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def purge_expired_throttles(self, expired_before: datetime, limit: int) -> int:
        deleted = await super().purge_expired_throttles(expired_before, limit)
        self.batches.append(deleted)
        return deleted


async def test_a_backlog_goes_in_batches_of_the_size_asked() -> None:
    for n in range(7):
        await ThrottleRow.create(key=f"{n:064d}", expires_at=NOW - timedelta(minutes=n + 1))
    await ThrottleRow.create(key="live".ljust(64, "x"), expires_at=NOW + timedelta(minutes=1))
    store = CountingStore()
    report = await a_job(RetentionPolicy(batch_size=3), store).run()
    assert report is not None
    assert report.deleted["throttles"] == 7
    assert store.batches == [3, 3, 1]
    assert await keys_in("throttles") == {"live".ljust(64, "x")}


async def run_when(go: asyncio.Event) -> RetentionReport | None:
    await go.wait()
    return await a_job().run()


class TestConcurrentChanges:
    """A row that becomes live again while the purge waits for it is judged as it is then."""

    @on_postgres
    async def test_a_counter_hit_again_while_the_purge_waits_stays(self) -> None:
        key = "f" * 64
        await ThrottleRow.create(key=key, count=0, marked_at=NOW, expires_at=NOW - timedelta(seconds=1))
        go = asyncio.Event()
        purging = asyncio.create_task(run_when(go))  # made outside the holder's transaction
        async with in_transaction() as holder:
            await ThrottleRow.filter(key=key).select_for_update().using_db(holder).first()
            go.set()
            await asyncio.sleep(0.3)  # the purge's DELETE now waits for the row
            assert not purging.done()
            await ThrottleRow.filter(key=key).using_db(holder).update(expires_at=NOW + timedelta(hours=1))
        report = await purging
        assert report is not None
        assert report.deleted["throttles"] == 0
        assert await keys_in("throttles") == {key}

    @on_postgres
    async def test_a_sign_up_confirmed_while_the_purge_waits_stays(self) -> None:
        rows = await seeded()
        [stale] = rows.gone["users"]
        go = asyncio.Event()
        purging = asyncio.create_task(run_when(go))  # made outside the holder's transaction
        async with in_transaction() as holder:
            await UserRow.filter(id=stale).select_for_update().using_db(holder).first()
            go.set()
            await asyncio.sleep(0.3)  # the purge waits to lock the sign-up
            assert not purging.done()
            await UserRow.filter(id=stale).using_db(holder).update(email_verified=True)
        report = await purging
        assert report is not None
        assert report.deleted["users"] == 0
        assert stale in await keys_in("users")
        # and nothing of the account went: its factors, codes, its audit events' names
        assert set(rows.of_stale_sign_up) >= {"otp_challenges", "sign_in_tickets", "passkeys", "audit_events"}
        for table, keys in rows.of_stale_sign_up.items():
            assert keys <= await keys_in(table), table
        assert await AuditEventRow.filter(user_id=stale).count() == 1


class GatedStore(TortoiseRetentionStore):
    """The real store, whose first purge waits until the test lets it go on."""

    def __init__(self) -> None:
        self.inside = asyncio.Event()
        self.go_on = asyncio.Event()

    async def purge_unverified_accounts(self, created_before: datetime, limit: int) -> int:
        self.inside.set()
        await self.go_on.wait()
        return await super().purge_unverified_accounts(created_before, limit)


@on_postgres
class TestOneProcessAtATime:
    async def test_a_run_skips_while_another_connection_holds_the_lock(self, database_url: str) -> None:
        rows = await seeded()
        other = await admin_connect(database_url)
        try:
            await other.execute("SELECT pg_advisory_lock($1)", RETENTION_LOCK_KEY)
            assert await a_job().run() is None
            assert rows.gone["throttles"] <= await keys_in("throttles")  # nothing was done
            await other.execute("SELECT pg_advisory_unlock($1)", RETENTION_LOCK_KEY)
            report = await a_job().run()
        finally:
            await other.close()
        assert report is not None
        assert report.deleted == DELETED

    async def test_of_two_runs_at_once_one_works_and_the_other_skips(self) -> None:
        rows = await seeded()
        store = GatedStore()
        first = asyncio.create_task(a_job(store=store).run())
        await asyncio.wait_for(store.inside.wait(), timeout=10)
        second = await a_job().run()
        assert second is None
        assert rows.gone["throttles"] <= await keys_in("throttles")  # the second one did nothing
        store.go_on.set()
        report = await first
        assert report is not None
        assert report.deleted == DELETED
        assert await rows.problems() == []

    async def test_the_lock_is_given_back_after_a_run(self, database_url: str) -> None:
        await a_job().run()
        other = await admin_connect(database_url)
        try:
            assert await other.fetchval("SELECT pg_try_advisory_lock($1)", RETENTION_LOCK_KEY)
        finally:
            await other.close()

    async def test_a_failed_run_gives_the_lock_back(self) -> None:

        class Failing(TortoiseRetentionStore):
            async def purge_expired_codes(self, expired_before: datetime, limit: int) -> int:
                raise RuntimeError("the disk is full")

        with pytest.raises(RuntimeError):
            await a_job(store=Failing()).run()
        assert await a_job().run() is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_two_runs_at_once_on_sqlite_delete_each_row_once() -> None:
    """No lock on SQLite: both runs go ahead, their batches one after another."""
    rows = await seeded()
    policy = replace(RetentionPolicy(), batch_size=2)
    reports = await asyncio.gather(a_job(policy).run(), a_job(policy).run())
    assert all(report is not None for report in reports)
    totals = {table: sum(report.deleted[table] for report in reports if report) for table in DELETED}
    assert totals == DELETED
    assert await rows.problems() == []
