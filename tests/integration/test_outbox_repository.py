"""The outbox table on SQLite and PostgreSQL: an item is seen only once its transaction commits;
a claim hides it for the lease; two claimers at once never get the same item (PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from domain import messages
from domain.entities import MailKind
from domain.services.outbox import SealedOutbox, unseal
from persistence.unit_of_work import TortoiseUnitOfWork
from security.sealing import AesGcmSealer

if TYPE_CHECKING:
    from tortoise.context import TortoiseContext

    from domain.entities import OutboxItem

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
SEALER = AesGcmSealer(b"k" * 32)


class Clock:
    def now(self) -> datetime:
        return NOW


async def queue(count: int, *, commit: bool = True) -> None:
    woken: list[bool] = []
    outbox = SealedOutbox(SEALER, Clock(), lambda: woken.append(True))
    async with TortoiseUnitOfWork() as uow:
        for n in range(count):
            mail = messages.code(f"p{n}@example.com", MailKind.RESET_PASSWORD, "Acme", f"{n:06d}", 600)
            await outbox.queue(uow, mail)
        if commit:
            await uow.commit()
    assert woken == ([True] * count if commit else [])  # the dispatcher hears of it once committed


async def claim(at: datetime, limit: int = 100, claimant: str = "a") -> list[OutboxItem]:
    async with TortoiseUnitOfWork() as uow:
        items = await uow.outbox.claim(at, at + LEASE, limit, claimant)
        await uow.commit()
    return items


@pytest.mark.usefixtures("database")
class TestOutbox:
    async def test_a_mail_exists_only_if_its_transaction_commits(self) -> None:
        await queue(1, commit=False)
        assert await claim(NOW) == []
        await queue(1)
        [item] = await claim(NOW)
        mail = unseal(SEALER, item)
        assert (mail.to, mail.code, item.attempts) == ("p0@example.com", "000000", 1)

    async def test_the_table_holds_the_mail_sealed(self, database: TortoiseContext) -> None:
        await queue(1)
        _, rows = await database.db().execute_query('SELECT * FROM "outbox"')
        row = dict(rows[0])
        assert b"p0@example.com" not in bytes(row["sealed_mail"])
        assert b"000000" not in bytes(row["sealed_mail"])
        assert row["kind"] == "reset_password"

    async def test_a_claimed_item_waits_for_its_lease_then_is_claimed_again(self) -> None:
        await queue(1)
        [first] = await claim(NOW)
        assert await claim(NOW + LEASE - timedelta(seconds=1), claimant="b") == []
        [again] = await claim(NOW + LEASE, claimant="b")
        assert (again.id, again.attempts) == (first.id, 2)

    async def test_an_outcome_from_a_claimant_that_lost_the_item_is_ignored(self) -> None:
        await queue(1)
        [item] = await claim(NOW, claimant="a")
        await claim(NOW + LEASE, claimant="b")  # a's lease ran out; b holds it now
        async with TortoiseUnitOfWork() as uow:
            await uow.outbox.bury(item.id, "a", NOW, "late")
            await uow.commit()
            assert await uow.outbox.list_dead() == []

    async def test_a_delivered_item_stays_emptied_and_is_neither_claimed_nor_counted(
        self, database: TortoiseContext
    ) -> None:
        await queue(2)
        delivered, waiting = await claim(NOW)
        async with TortoiseUnitOfWork() as uow:
            await uow.outbox.delivered(delivered.id, NOW + timedelta(seconds=1))
            await uow.commit()
        _, rows = await database.db().execute_query(
            'SELECT id, sealed_mail, sent_at FROM "outbox" WHERE sent_at IS NOT NULL'
        )
        [row] = [dict(row) for row in rows]
        assert (str(row["id"]), bytes(row["sealed_mail"])) == (str(delivered.id), b"")  # the sealed mail is gone
        async with TortoiseUnitOfWork() as uow:
            backlog = await uow.outbox.backlog()
        assert (backlog.queued, backlog.dead) == (1, 0)
        [again] = await claim(NOW + LEASE)
        assert again.id == waiting.id

    async def test_dead_items_are_listed_and_queued_again(self) -> None:
        await queue(2)
        first, second = await claim(NOW)
        async with TortoiseUnitOfWork() as uow:
            await uow.outbox.bury(first.id, "a", NOW, "SMTPDataError 554")
            await uow.outbox.postpone(second.id, "a", NOW + timedelta(hours=1), "SMTPConnectError")
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            [dead] = await uow.outbox.list_dead()
            backlog = await uow.outbox.backlog()
        assert (dead.id, dead.last_error) == (first.id, "SMTPDataError 554")
        assert (backlog.queued, backlog.dead, backlog.oldest_queued_at) == (1, 1, NOW)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.outbox.revive(None, NOW) == 1
            await uow.commit()
        [revived] = await claim(NOW)
        assert (revived.id, revived.attempts) == (first.id, 1)


@pytest.mark.postgres
async def test_concurrent_claims_skip_each_others_items(postgres_database_url: str) -> None:
    from tortoise.context import TortoiseContext

    from persistence.config import tortoise_config
    from tests.support.databases import emptied

    url = await emptied(postgres_database_url)
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        await queue(10)
        async with TortoiseUnitOfWork() as holding:
            held = await holding.outbox.claim(NOW, NOW + LEASE, 4, "a")  # locked until this commits
            others = await asyncio.wait_for(claim(NOW, claimant="b"), 5)  # not waiting for them
            await holding.commit()
    assert len(held) == 4
    assert len(others) == 6
    assert not {item.id for item in held} & {item.id for item in others}
