"""The throttle counters and the audit log against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from domain.entities import AuditEvent, AuditEventType
from domain.rate_limiting import Rate, ThrottleState, hit
from persistence.models import AuditEventRow, ThrottleRow
from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork, TortoiseUnitOfWork

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = "a" * 64


async def hit_once(rate: Rate, key: str = KEY) -> timedelta | None:
    async with TortoiseUnitOfWork() as uow:
        wait = await uow.throttles.update(key, partial(hit, rate=rate, now=NOW))
        await uow.commit()
        return wait


@pytest.mark.usefixtures("database")
class TestThrottleRepository:
    async def test_a_new_key_starts_empty_and_is_stored(self) -> None:
        seen: list[ThrottleState] = []

        def record(state: ThrottleState) -> tuple[ThrottleState, None]:
            seen.append(state)
            return ThrottleState(count=3, marked_at=NOW, expires_at=NOW + timedelta(hours=1)), None

        for _ in range(2):
            async with TortoiseUnitOfWork() as uow:
                await uow.throttles.update(KEY, record)
                await uow.commit()
        assert seen == [ThrottleState(), ThrottleState(count=3, marked_at=NOW, expires_at=NOW + timedelta(hours=1))]

    async def test_concurrent_hits_are_counted_one_after_another(self) -> None:
        rate = Rate(5, timedelta(hours=1))
        waits = await asyncio.gather(*(hit_once(rate) for _ in range(20)))
        assert sum(wait is None for wait in waits) == 5

    async def test_a_row_deleted_between_insert_and_lock_is_made_again(self, database_url: str) -> None:
        """A purge or an unlock may delete the row a hit has just found and is about to lock."""
        if not database_url.startswith("postgres"):
            pytest.skip("SQLite runs one transaction at a time: nothing can come in between")
        rate = Rate(5, timedelta(hours=1))
        await hit_once(rate)
        go = asyncio.Event()

        async def hit_when_told() -> timedelta | None:
            await go.wait()
            return await hit_once(rate)

        waiting = asyncio.create_task(hit_when_told())  # made outside the holder's transaction
        async with TortoiseUnitOfWork() as holder:
            # A share lock: the hit's INSERT … ON CONFLICT DO NOTHING passes it, its FOR UPDATE waits.
            await holder._db.execute_query("SELECT key FROM throttles WHERE key = $1 FOR SHARE", [KEY])
            go.set()
            await asyncio.sleep(0.3)
            await holder.throttles.clear(KEY)
            await holder.commit()
        assert await waiting is None
        assert [row.key for row in await ThrottleRow.all()] == [KEY]  # counted on a new row

    async def test_a_lone_hit_decides_as_the_rule_does(self) -> None:
        """``hit`` (one statement on PostgreSQL) against ``domain.rate_limiting.hit`` over a day of attempts."""
        rate = Rate(3, timedelta(minutes=10))
        state, expected, got = ThrottleState(), [], []
        moments = [NOW + timedelta(seconds=s) for s in (0, 1, 2, 3, 4, 200, 201, 202, 1000, 1001, 5000, 86400, 86401)]
        for moment in moments:
            state, wait = hit(state, rate, moment)
            expected.append(wait)
            async with TortoiseReadOnlyUnitOfWork() as statements:
                got.append(await statements.throttles.hit(KEY, rate, moment))
        assert got == expected
        assert [wait is None for wait in got] == [True, True, True, False, False, True, False, False] + [True] * 5

    async def test_concurrent_lone_hits_are_counted_one_after_another(self) -> None:
        rate = Rate(5, timedelta(hours=1))

        async def hit_alone() -> timedelta | None:
            async with TortoiseReadOnlyUnitOfWork() as statements:
                return await statements.throttles.hit(KEY, rate, NOW)

        waits = await asyncio.gather(*(hit_alone() for _ in range(20)))
        assert sum(wait is None for wait in waits) == 5
        assert {wait for wait in waits if wait is not None} == {timedelta(minutes=12)}

    async def test_an_update_not_committed_is_forgotten(self) -> None:
        rate = Rate(1, timedelta(hours=1))
        async with TortoiseUnitOfWork() as uow:
            await uow.throttles.update(KEY, partial(hit, rate=rate, now=NOW))
        assert await hit_once(rate) is None

    async def test_clear(self) -> None:
        rate = Rate(1, timedelta(minutes=1))
        await hit_once(rate, "b" * 64)
        await hit_once(rate, "c" * 64)
        async with TortoiseUnitOfWork() as uow:
            await uow.throttles.clear("b" * 64)
            await uow.commit()
        assert [row.key for row in await ThrottleRow.all()] == ["c" * 64]


@pytest.mark.usefixtures("database")
class TestAuditRepository:
    EVENT = AuditEvent(
        type=AuditEventType.LOGIN_FAILED,
        occurred_at=NOW,
        user_id=None,
        client_ip="2001:db8::1",
        user_agent="Test/1.0",
        detail="unknown_account",
    )

    async def test_a_committed_event_is_stored_and_logged_once(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level("INFO", logger="gateway.audit")
        async with TortoiseUnitOfWork() as uow:
            await uow.audit.add(self.EVENT)
            assert caplog.records == []  # not before the commit
            await uow.commit()
        row = await AuditEventRow.get()
        assert (row.event, row.client_ip, row.user_agent, row.detail) == (
            "login_failed",
            "2001:db8::1",
            "Test/1.0",
            "unknown_account",
        )
        assert row.occurred_at == NOW
        [record] = caplog.records
        assert json.loads(record.getMessage()) == {
            "audit": "login_failed",
            "at": NOW.isoformat(),
            "user_id": None,
            "client_ip": "2001:db8::1",
            "user_agent": "Test/1.0",
            "detail": "unknown_account",
        }

    async def test_a_rolled_back_event_is_neither_stored_nor_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level("INFO", logger="gateway.audit")
        async with TortoiseUnitOfWork() as uow:
            await uow.audit.add(self.EVENT)
        assert await AuditEventRow.all().count() == 0
        assert caplog.records == []

    async def test_an_event_may_name_an_account(self) -> None:
        from tests.integration.test_repositories import stored_user

        user = await stored_user()
        async with TortoiseUnitOfWork() as uow:
            await uow.audit.add(AuditEvent(AuditEventType.LOGIN_SUCCEEDED, NOW, user.id, None, None))
            await uow.commit()
        assert (await AuditEventRow.get()).user_id == user.id  # type: ignore[attr-defined]  # FK column
