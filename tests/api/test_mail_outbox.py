"""The mail outbox, in the app on SQLite and PostgreSQL: an SMTP outage delays codes but loses
none and doubles none; a mail the server keeps refusing is retried with growing delays, then
dead, and can be queued again."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from persistence.models import OutboxRow
from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork, TortoiseUnitOfWork
from tests.support.mail import ACCEPTED, CODE

if TYPE_CHECKING:
    import pytest

    from domain.entities import OutboxItem
    from tests.support.client import Gateway, GatewayFactory
    from tests.support.mail import SmtpSink

FAST_RETRIES = {"outbox_retry_base_seconds": 0.05, "outbox_retry_max_seconds": 0.2, "outbox_poll_seconds": 0.05}
PEOPLE = [f"person-{n}@example.com" for n in range(6)]


async def dead_items() -> list[OutboxItem]:
    async with TortoiseReadOnlyUnitOfWork() as uow:
        return await uow.outbox.list_dead()


class TestOutage:
    async def test_sign_ups_answer_at_once_and_every_code_arrives_once_the_server_is_back(
        self, gateway_factory: GatewayFactory, smtp_server: SmtpSink, caplog: pytest.LogCaptureFixture
    ) -> None:
        gateway: Gateway = await gateway_factory(**FAST_RETRIES)
        smtp_server.stop()
        with caplog.at_level(logging.INFO):
            for address in PEOPLE:
                started = time.monotonic()
                assert (await gateway.register(address))["__typename"] == "OtpSent"
                assert time.monotonic() - started < 2  # no SMTP timeout in the answer
            await gateway.mail_settled()
            await asyncio.sleep(0.3)  # a few more refused rounds
            assert smtp_server.messages == []

            smtp_server.start()
            for address in PEOPLE:
                await gateway.mail_retried_until(address)
            await asyncio.sleep(0.3)  # time enough for a duplicate to show
            await gateway.mail_settled()

        # what the gateway logged (aiosmtpd, the test's mail server, logs its recipients as "mail.log")
        logged = "\n".join(record.getMessage() for record in caplog.records if record.name != "mail.log")
        message_ids = [message["Message-ID"] for message in smtp_server.messages]
        assert len(message_ids) == len(PEOPLE) == len(set(message_ids))
        for address in PEOPLE:
            [body] = smtp_server.bodies_to(address)
            code = CODE.search(body)
            assert code is not None
            assert (await gateway.verify(address, code.group(1)))["__typename"] == "AuthPayload"
            # neither the address nor the code in any log line, refused attempts included
            assert address not in logged
            assert code.group(1) not in logged
        assert "attempt 1 failed (SMTPConnectError)" in logged, logged


class TestRetriesAndDeadItems:
    async def test_delays_grow_until_the_last_attempt_then_the_mail_is_dead_until_queued_again(
        self,
        gateway_factory: GatewayFactory,
        refusing_smtp_server: SmtpSink,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        gateway: Gateway = await gateway_factory(outbox_max_attempts=4, **FAST_RETRIES)
        with caplog.at_level(logging.WARNING, logger="gateway.outbox"):
            assert (await gateway.register("refused@example.com"))["__typename"] == "OtpSent"
            deadline = time.monotonic() + 10
            while not (dead := await dead_items()):
                assert time.monotonic() < deadline, caplog.text
                await gateway.mail_settled()
                await asyncio.sleep(0.02)

        delays = [float(delay) for delay in re.findall(r"next in ([0-9.]+) s", caplog.text)]
        assert len(delays) == 3, caplog.text  # after attempts 1, 2 and 3; the 4th is the last
        assert delays[0] < delays[1] < delays[2], delays  # each wait longer than the one before
        assert "is dead after 4 attempts" in caplog.text
        [item] = dead
        assert (item.attempts, item.kind.value) == (4, "verify_email")
        assert item.last_error is not None
        assert "554" in item.last_error

        refusing_smtp_server.reply = ACCEPTED
        await gateway.mail_settled()
        assert refusing_smtp_server.messages == []  # dead: not tried again by itself
        async with TortoiseUnitOfWork() as uow:
            assert await uow.outbox.revive(item.id, item.created_at) == 1
            await uow.commit()
        code = await gateway.code_to("refused@example.com")
        assert (await gateway.verify("refused@example.com", code))["__typename"] == "AuthPayload"
        assert await dead_items() == []

    async def test_an_item_claimed_past_its_attempts_with_no_outcome_is_dead_not_sent(
        self, gateway_factory: GatewayFactory, smtp_server: SmtpSink
    ) -> None:
        """A mail whose every try took its process down (claimed, never answered for) must not
        be claimed for ever: past its attempts it is dead, whatever the mail server says now."""
        gateway: Gateway = await gateway_factory(outbox_max_attempts=3, **FAST_RETRIES)
        smtp_server.stop()
        assert (await gateway.register("crashes@example.com"))["__typename"] == "OtpSent"
        await gateway.mail_settled()
        # as if the next tries had each been claimed, then lost with their process
        await OutboxRow.all().update(attempts=3, next_attempt_at=datetime.now(UTC))
        smtp_server.start()
        await gateway.mail_settled()
        assert smtp_server.messages == []
        [item] = await dead_items()
        assert (item.attempts, item.last_error) == (4, "no_outcome")


class TestMessageIds:
    async def test_each_mail_carries_the_id_of_its_outbox_item(self, gateway: Gateway) -> None:
        await gateway.register("ids@example.com")
        await gateway.request_password_reset("ids@example.com")
        await gateway.mail_settled()
        ids = [str(message["Message-ID"]) for message in gateway.mailbox.messages]
        assert len(set(ids)) == 2
        assert all(re.fullmatch(r"<[0-9a-f]{32}@localhost>", message_id) for message_id in ids), ids
