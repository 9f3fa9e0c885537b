"""Signed webhooks, in the app on SQLite and PostgreSQL, to a real HTTP receiver on loopback:
every event of an account's life arrives signed (checked with the Standard Webhooks library),
with ids and facts only; a receiver that fails gets retries with growing delays, then a dead
item; one that hangs is cut off; a redirect is not followed; a rolled-back change sends nothing."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import re
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from standardwebhooks.webhooks import Webhook

from domain.entities import AuditEventType, Client, WebhookEndpoint
from domain.services.audit import AuditTrail
from domain.services.webhooks import WebhookAnnouncer
from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork, TortoiseUnitOfWork
from tests.support.client import PASSWORD
from tests.support.clock import AdjustableClock
from tests.support.factors import enrolled, ticket_of
from tests.support.webhook_receiver import webhook_receiver

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from domain.entities import OutboxItem
    from tests.support.client import Gateway, GatewayFactory
    from tests.support.webhook_receiver import Received, WebhookReceiver

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
FAST_RETRIES = {"outbox_retry_base_seconds": 0.1, "outbox_retry_max_seconds": 1.0, "outbox_poll_seconds": 0.05}
ADDRESS = "webhooks@example.com"
NEW_ADDRESS = "moved@example.com"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as running:
        yield running


async def start(gateway_factory: GatewayFactory, receiver: WebhookReceiver, **overrides: Any) -> Gateway:
    endpoints = overrides.pop("webhook_endpoints", None) or {"crm": {"url": receiver.url, "secret": SECRET}}
    gateway: Gateway = await gateway_factory(webhook_endpoints=endpoints, **overrides)
    return gateway


def verified(message: Received, secret: str = SECRET) -> dict[str, Any]:
    """The payload, once the Standard Webhooks library found its signature good."""
    payload: dict[str, Any] = Webhook(secret).verify(message.body, message.headers)
    return payload


async def outbox_items() -> list[OutboxItem]:
    """The dead items: in the tests below, the events the receiver refused on their last attempt."""
    async with TortoiseReadOnlyUnitOfWork() as uow:
        return await uow.outbox.list_dead()


class TestAccountLife:
    async def test_every_event_arrives_signed_with_ids_and_facts_only(
        self, gateway_factory: GatewayFactory, receiver: WebhookReceiver
    ) -> None:
        gateway = await start(gateway_factory, receiver)
        signed_up = await gateway.signed_up(ADDRESS)
        user_id = signed_up["user"]["id"]
        signed_in = await gateway.login(ADDRESS)
        token = signed_in["accessToken"]
        await gateway.update_profile(token, firstName="Ada")
        assert (await gateway.change_password(token, PASSWORD, NEW_PASSWORD))["__typename"] == "PasswordChanged"
        token = (await gateway.login(ADDRESS, NEW_PASSWORD))["accessToken"]
        assert (await gateway.request_email_change(token, NEW_ADDRESS, NEW_PASSWORD))["__typename"] == "OtpSent"
        code = await gateway.last_code(NEW_ADDRESS)
        await gateway.confirm_email_change(token, code)
        await gateway.request_password_reset(NEW_ADDRESS)
        reset_code = await gateway.last_code(NEW_ADDRESS)
        assert (await gateway.reset_password(NEW_ADDRESS, reset_code, PASSWORD))["__typename"] == "AuthPayload"
        token = (await gateway.login(NEW_ADDRESS))["accessToken"]
        await gateway.logout(token)
        token = (await gateway.login(NEW_ADDRESS))["accessToken"]
        assert (await gateway.delete_account(token))["__typename"] == "AccountDeleted"
        await gateway.mail_settled()

        payloads = [verified(message) for message in receiver.received]
        types = [payload["type"] for payload in payloads]
        for expected in (
            "user.created",
            "user.verified",
            "session.created",
            "user.profile_updated",
            "user.password_changed",
            "user.email_changed",
            "user.password_reset",
            "session.revoked",
            "user.deleted",
        ):
            assert expected in types, types
        assert all(payload["data"]["user_id"] == user_id for payload in payloads), payloads
        sessions = [p["data"]["session_id"] for p in payloads if p["type"] == "session.created"]
        assert signed_up_session(payloads) in sessions
        revoked = [p for p in payloads if p["type"] == "session.revoked"]
        assert revoked[0]["data"]["reason"] == "signed_out"
        assert revoked[0]["data"]["session_id"] in sessions

        # one id per event, never two events with one id; the timestamp header is the attempt's
        ids = [message.headers["webhook-id"] for message in receiver.received]
        assert len(ids) == len(set(ids))
        assert all(re.fullmatch(r"msg_[0-9a-f]{32}", webhook_id) for webhook_id in ids)
        assert all(abs(int(m.headers["webhook-timestamp"]) - time.time()) < 120 for m in receiver.received)

        # nothing a receiver could sign in with or mail to
        everything = b"\n".join(message.body for message in receiver.received).decode()
        for secret in (ADDRESS, NEW_ADDRESS, PASSWORD, NEW_PASSWORD, code, reset_code, SECRET, "whsec_"):
            assert secret not in everything
        for payload in payloads:
            assert set(payload["data"]) <= {"user_id", "session_id", "provider_id", "method", "reason", "factor"}
        assert signed_up["accessToken"] not in everything
        assert signed_up["refreshToken"] not in everything

    async def test_each_endpoint_gets_the_events_it_asked_for_signed_with_its_own_secret(
        self, gateway_factory: GatewayFactory, receiver: WebhookReceiver
    ) -> None:
        async with webhook_receiver() as other:
            gateway = await start(
                gateway_factory,
                receiver,
                webhook_endpoints={
                    "crm": {"url": receiver.url, "secret": SECRET},
                    "billing": {"url": other.url, "secret": OTHER_SECRET, "events": ["user.deleted"]},
                },
            )
            token = (await gateway.signed_up(ADDRESS))["accessToken"]
            await gateway.delete_account(token)
            await gateway.mail_settled()
            [deleted] = other.received
            assert verified(deleted, OTHER_SECRET)["type"] == "user.deleted"
            with pytest.raises(Exception, match="signature"):
                verified(deleted, SECRET)
            to_crm = {verified(message)["type"]: message for message in receiver.received}
            assert to_crm.keys() == {"user.created", "user.verified", "session.created", "user.deleted"}
            # the same event, the same id at every endpoint: receivers that share a store drop one
            assert to_crm["user.deleted"].headers["webhook-id"] == deleted.headers["webhook-id"]

    async def test_a_second_factor_announces_the_factor_and_the_session_it_completes(
        self, gateway_factory: GatewayFactory, receiver: WebhookReceiver
    ) -> None:
        clock = AdjustableClock()
        gateway = await start(gateway_factory, receiver, clock=clock)
        token, app, _codes = await enrolled(gateway, clock, ADDRESS)
        ticket = await ticket_of(gateway, ADDRESS)
        signed_in = await gateway.complete_sign_in(ticket, "TOTP", app.next_code())
        assert signed_in["__typename"] == "AuthPayload", signed_in
        await gateway.mail_settled()
        payloads = [verified(message) for message in receiver.received]
        assert {"type": "user.factor_added", "factor": "totp"} in [
            {"type": p["type"], "factor": p["data"].get("factor")} for p in payloads
        ]
        [completed] = [p for p in payloads if p["type"] == "session.created" and p["data"]["method"] == "totp"]
        assert completed["data"]["session_id"]
        assert token not in b"".join(message.body for message in receiver.received).decode()


def signed_up_session(payloads: list[dict[str, Any]]) -> str:
    [first] = [p for p in payloads if p["type"] == "session.created" and p["data"]["method"] == "sign_up"]
    session: str = first["data"]["session_id"]
    return session


class TestFailingReceivers:
    async def test_an_error_is_retried_with_growing_delays_then_the_event_is_dead(
        self, gateway_factory: GatewayFactory, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        receiver.answer = "fail"
        gateway = await start(
            gateway_factory, receiver, outbox_max_attempts=4, webhook_endpoints=only_deletions(receiver), **FAST_RETRIES
        )
        token = (await gateway.signed_up(ADDRESS))["accessToken"]
        with caplog.at_level(logging.WARNING, logger="gateway.outbox"):
            await gateway.delete_account(token)
            dead = await dead_within(gateway, 20)
        arrivals = [message.at for message in receiver.received]
        assert len(arrivals) == 4  # every attempt reached the receiver, and no more
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        assert gaps[0] < gaps[2], gaps  # base 0.1 s doubling, jittered into [½, 1): 0.05 to 0.1 s, then 0.2 to 0.4 s
        delays = [float(delay) for delay in re.findall(r"next in ([0-9.]+) s", caplog.text)]
        assert delays[0] < delays[1] < delays[2], delays
        assert len({message.headers["webhook-id"] for message in receiver.received}) == 1  # one id every attempt
        [item] = dead
        assert (item.kind.value, item.endpoint, item.attempts, item.last_error) == (
            "user.deleted",
            "crm",
            4,
            "HTTP 500",
        )

    async def test_a_receiver_that_hangs_is_cut_off_at_the_timeout(
        self, gateway_factory: GatewayFactory, receiver: WebhookReceiver
    ) -> None:
        receiver.answer = "hang"
        gateway = await start(
            gateway_factory,
            receiver,
            outbox_max_attempts=1,
            webhook_timeout_seconds=0.5,
            webhook_endpoints=only_deletions(receiver),
        )
        token = (await gateway.signed_up(ADDRESS))["accessToken"]
        gateway.settle_mail_after_requests = False
        await gateway.delete_account(token)
        started = time.monotonic()
        await gateway.mail_settled()
        assert time.monotonic() - started < 3
        [item] = await outbox_items()
        assert item.last_error == "TimeoutError"
        assert len(receiver.received) == 1

    async def test_a_redirect_is_not_followed(self, gateway_factory: GatewayFactory, receiver: WebhookReceiver) -> None:
        receiver.answer = "redirect"
        gateway = await start(
            gateway_factory, receiver, outbox_max_attempts=1, webhook_endpoints=only_deletions(receiver)
        )
        token = (await gateway.signed_up(ADDRESS))["accessToken"]
        await gateway.delete_account(token)
        [item] = await outbox_items()
        assert item.last_error == "HTTP 307"
        assert len(receiver.received) == 1
        assert receiver.followed == 0


def only_deletions(receiver: WebhookReceiver) -> dict[str, Any]:
    return {"crm": {"url": receiver.url, "secret": SECRET, "events": ["user.deleted"]}}


async def dead_within(gateway: Gateway, seconds: float) -> list[OutboxItem]:
    deadline = time.monotonic() + seconds
    while not (dead := await outbox_items()):
        assert time.monotonic() < deadline
        await gateway.mail_settled()
        await asyncio.sleep(0.02)
    return dead


class TestTransactions:
    async def test_an_event_is_written_with_its_change_and_gone_if_that_rolls_back(
        self, gateway_factory: GatewayFactory, receiver: WebhookReceiver
    ) -> None:
        gateway = await start(gateway_factory, receiver)
        user_id = uuid.UUID((await gateway.signed_up(ADDRESS))["user"]["id"])
        await gateway.mail_settled()
        clock = gateway.app.state.services.mail_dispatcher._clock
        announcer = WebhookAnnouncer([WebhookEndpoint("crm")], _Sealer(), clock, lambda: None)
        audit = AuditTrail(TortoiseUnitOfWork, clock, webhooks=announcer)
        client = Client(ip="127.0.0.1", user_agent=None)

        class Refused(Exception):
            pass

        async def refused_change() -> None:
            async with TortoiseUnitOfWork() as uow:
                await audit.record(uow, AuditEventType.PROFILE_UPDATED, client, user_id)
                raise Refused

        with pytest.raises(Refused):
            await refused_change()
        async with TortoiseReadOnlyUnitOfWork() as reads:
            assert (await reads.outbox.backlog()).queued == 0

        async with TortoiseUnitOfWork() as uow:
            await audit.record(uow, AuditEventType.PROFILE_UPDATED, client, user_id)
            await uow.commit()
        async with TortoiseReadOnlyUnitOfWork() as reads:
            assert (await reads.outbox.backlog()).queued == 1


class _Sealer:
    """Seals nothing: these items are counted, not sent."""

    def seal(self, secret: bytes, context: bytes) -> bytes:
        return secret

    def open(self, sealed: bytes, context: bytes) -> bytes:
        return sealed
