"""The mail outbox across real processes: a gateway killed while delivering a reset code
(SIGKILL, no shutdown) delivers it after a restart, once; two gateways on one PostgreSQL
deliver a backlog of 200 mails exactly once between them; the outbox commands list dead
mails and queue them again."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from tests.support.client import served_gateway
from tests.support.databases import emptied
from tests.support.mail import ACCEPTED, CODE
from tests.support.processes import server_command
from tests.support.settings import RATE_LIMITS, development_env

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.mail import HeldSmtpSink, SmtpSink

ADDRESS = "forgetful@example.com"
NEW_PASSWORD = "a brand new passphrase"
MAILS = 200
NO_LIMITS = {f"RATE_LIMIT_{name.upper()}": "100000/1m" for name in RATE_LIMITS}


async def mails_to(mailbox: SmtpSink, address: str, count: int, within: float = 20.0) -> list[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while len(bodies := mailbox.bodies_to(address)) < count:
        assert loop.time() < deadline, f"{len(bodies)} of {count} mails to {address} within {within} s"
        await asyncio.sleep(0.05)
    return bodies


async def test_a_reset_code_whose_sender_was_killed_arrives_once_after_a_restart(
    database_url: str, held_smtp_server: HeldSmtpSink, tmp_path: Path
) -> None:
    mailbox = held_smtp_server
    env = development_env(
        mailbox.port,
        tmp_path,
        DATABASE_URL=database_url,
        SMTP_TIMEOUT_SECONDS="2",
        OUTBOX_CLAIM_LEASE_SECONDS="3",  # a dead claimant's mail is tried again after this
        OUTBOX_POLL_SECONDS="0.2",
    )
    async with served_gateway(env, mailbox) as gateway:
        await gateway.signed_up(ADDRESS)
        mailbox.holding = True
        assert (await gateway.request_password_reset(ADDRESS))["__typename"] == "OtpSent"
        assert await asyncio.to_thread(mailbox.sending.wait, 10)  # the delivery is under way
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGKILL)  # no shutdown, no chance to finish it
        assert await gateway.process.exited() == -signal.SIGKILL
    mailbox.holding = False
    mailbox.release.set()
    assert len(mailbox.bodies_to(ADDRESS)) == 1  # the sign-up code only

    async with served_gateway(env, mailbox) as restarted:
        bodies = await mails_to(mailbox, ADDRESS, 2)
        await asyncio.sleep(1.5)  # a second copy would come now
        assert len(mailbox.bodies_to(ADDRESS)) == 2
        assert "reset" in str(mailbox.messages[-1]["Subject"]).lower()
        code = CODE.search(bodies[-1])
        assert code is not None
        reset = await restarted.reset_password(ADDRESS, code.group(1), NEW_PASSWORD)
        assert reset["__typename"] == "AuthPayload"


@pytest.mark.postgres
async def test_two_gateways_deliver_a_backlog_exactly_once_between_them(
    postgres_database_url: str, smtp_server: SmtpSink, tmp_path: Path
) -> None:
    database_url = await emptied(postgres_database_url)
    env = development_env(
        smtp_server.port,
        tmp_path,
        DATABASE_URL=database_url,
        MIGRATE_ON_START="false",
        OTP_RESEND_COOLDOWN_SECONDS="0",
        OUTBOX_RETRY_BASE_SECONDS="0.5",
        OUTBOX_RETRY_MAX_SECONDS="1",
        OUTBOX_MAX_ATTEMPTS="100",
        OUTBOX_POLL_SECONDS="0.2",
        OUTBOX_BATCH_SIZE="4",
        **NO_LIMITS,
    )
    addresses = [f"person-{n}@example.com" for n in range(MAILS)]
    smtp_server.stop()  # the mail server is down while people sign up: a backlog builds
    async with served_gateway(env, smtp_server) as first, served_gateway(env, smtp_server) as second:
        for start in range(0, MAILS, 20):
            answers = await asyncio.gather(
                *((first, second)[n % 2].register(address) for n, address in enumerate(addresses[start : start + 20]))
            )
            assert {answer["__typename"] for answer in answers} == {"OtpSent"}
        assert smtp_server.messages == []

        smtp_server.start()  # both gateways now retry the same rows
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while len(smtp_server.messages) < MAILS:
            assert loop.time() < deadline, f"{len(smtp_server.messages)} of {MAILS} mails"
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # time enough for a duplicate to show
        assert first.process is not None
        assert second.process is not None
        delivered = [process.output.count("delivered on attempt") for process in (first.process, second.process)]

    recipients = Counter(address for rcpts in smtp_server.recipients for address in rcpts)
    assert recipients == Counter(addresses), [address for address, count in recipients.items() if count > 1]
    assert len({message["Message-ID"] for message in smtp_server.messages}) == MAILS
    assert sum(delivered) == MAILS
    assert min(delivered) > 0, delivered  # the work was shared


async def test_dead_mail_is_listed_without_its_address_and_delivered_once_queued_again(
    smtp_server: SmtpSink, tmp_path: Path
) -> None:
    mailbox = smtp_server
    mailbox.reply = "554 5.7.1 Message rejected"
    env = development_env(
        mailbox.port,
        tmp_path,
        OUTBOX_MAX_ATTEMPTS="2",
        OUTBOX_RETRY_BASE_SECONDS="0.1",
        OUTBOX_RETRY_MAX_SECONDS="0.2",
        OUTBOX_POLL_SECONDS="0.1",
    )
    async with served_gateway(env, mailbox) as gateway:
        assert (await gateway.register(ADDRESS))["__typename"] == "OtpSent"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while "verify_email" not in (listed := await server_command("outbox", "list-dead", env=env)).stdout:
            assert listed.status == 0, listed.stderr
            assert loop.time() < deadline, listed.stdout
            await asyncio.sleep(0.2)
        [line] = listed.stdout.splitlines()
        assert ADDRESS not in listed.stdout
        assert "attempts=2" in line, line
        assert "554" in line, line
        item_id = line.split()[0]

        not_an_id = await server_command("outbox", "retry", "not-an-id", env=env)
        assert not_an_id.status == 2, not_an_id
        unknown = await server_command("outbox", "retry", str(uuid.uuid4()), env=env)
        assert (unknown.status, unknown.stderr.startswith("no dead mail has the id")) == (1, True), unknown

        mailbox.reply = ACCEPTED
        retried = await server_command("outbox", "retry", item_id, env=env)
        assert (retried.status, retried.stdout.strip()) == (0, "queued 1 dead mail again"), retried
        code = await gateway.last_code(ADDRESS)  # the running gateway sends it
        assert (await gateway.verify(ADDRESS, code))["__typename"] == "AuthPayload"
        assert len(mailbox.bodies_to(ADDRESS)) == 1

        assert (await server_command("outbox", "list-dead", env=env)).stdout.strip() == "no dead mail"
        nothing = await server_command("outbox", "retry", "--all", env=env)
        assert nothing.stdout.strip() == "queued 0 dead mails again", nothing
