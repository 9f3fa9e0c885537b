"""The retention job in the server's lifespan, on SQLite and PostgreSQL: it runs at start (and
every RETENTION_INTERVAL_SECONDS), stops with the app, and is not started when turned off."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import pytest

from persistence.models import AuditEventRow, SessionRow, UserRow
from tests.support.client import Gateway, GatewayFactory
from tests.support.clock import AdjustableClock

if TYPE_CHECKING:
    from uuid import UUID

OWNER = "owner@example.com"
STRANGER = "stranger@example.com"


def purging_tasks() -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if task.get_coro().__qualname__ == "RetentionJob.run_every"]  # type: ignore[union-attr]  # a task's coroutine


async def sign_up_left_unconfirmed(gateway: Gateway, email: str) -> UUID:
    assert (await gateway.register(email))["__typename"] == "OtpSent"
    user = await UserRow.get(email_key=email)
    return user.id


async def gone(user_id: UUID) -> bool:
    """Whether the account is gone, within a few seconds (the purge runs beside the requests)."""
    for _ in range(100):
        if not await UserRow.filter(id=user_id).exists():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_server_purges_at_start_what_is_past_its_time(gateway_factory: GatewayFactory) -> None:
    clock = AdjustableClock()
    gateway = await gateway_factory(clock)
    stale = await sign_up_left_unconfirmed(gateway, STRANGER)
    owner = await gateway.signed_up(OWNER)
    assert (await gateway.logout(owner["accessToken"]))["__typename"] == "SignedOut"
    clock.advance(days=9)  # the sign-up has been no account for two days, the session ended nine days ago

    restarted = await gateway_factory(clock, retention_interval_seconds=3600)
    assert await gone(stale)
    assert await UserRow.filter(email_key=OWNER, email_verified=True).exists()
    assert not await SessionRow.filter(user__email_key=OWNER).exists()
    assert not await AuditEventRow.filter(user_id=stale).exists()
    # The stranger's address was free before and is free now: the next sign-up starts from nothing.
    assert (await restarted.register(STRANGER))["__typename"] == "OtpSent"
    assert (await restarted.login(OWNER))["__typename"] == "AuthPayload"


async def test_the_job_lives_and_ends_with_the_app(gateway_factory: GatewayFactory) -> None:
    await gateway_factory(retention_interval_seconds=3600)
    assert len(purging_tasks()) == 1
    await gateway_factory(retention_interval_seconds=0)  # stops the first app
    assert purging_tasks() == []


async def first_run_logged(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    for _ in range(100):
        for record in caplog.records:
            if record.name == "gateway.retention":
                return record
        await asyncio.sleep(0.05)
    raise AssertionError("the retention job logged nothing")


async def test_a_live_sign_up_survives_the_purge_at_start(
    gateway_factory: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = AdjustableClock()
    gateway = await gateway_factory(clock)
    pending = await sign_up_left_unconfirmed(gateway, STRANGER)
    clock.advance(days=6)
    with caplog.at_level(logging.INFO, logger="gateway.retention"):
        restarted = await gateway_factory(clock, retention_interval_seconds=3600)
        [purging] = purging_tasks()
        ran = await first_run_logged(caplog)
    deleted = ran.fields["deleted"]  # type: ignore[attr-defined]  # given as extra={"fields": ...}
    assert (deleted["users"], deleted["otp_challenges"]) == (0, 1)
    assert await UserRow.filter(id=pending).exists()
    # its code of six days ago is gone (a day after it expired), the sign-up is not: a new code confirms it
    assert (await restarted.resend_otp(STRANGER))["__typename"] == "OtpSent"
    await restarted.mail_settled()
    assert (await restarted.verify(STRANGER, await restarted.last_code(STRANGER)))["__typename"] == "AuthPayload"
    assert not purging.done()
