"""Delivers the outbox: claims due items, sends them, and retries failures with exponential
backoff and jitter until the maximum number of attempts, after which an item is dead."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from domain.entities import OutboxBacklog
from domain.errors import DeliveryFailed
from domain.services.outbox import unseal
from domain.services.webhooks import unseal_delivery

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import MailKind, OutboxItem, WebhookEventType
    from domain.ports import Clock, Mailer, SecretSealer, UnitOfWork, WebhookSender

logger = logging.getLogger("gateway.outbox")


@dataclass(frozen=True)
class OutboxPolicy:
    """How the dispatcher works through the outbox (settings ``OUTBOX_*``)."""

    max_attempts: int = 8
    retry_base: timedelta = timedelta(seconds=10)  # the delay after the first failure, doubled after each
    retry_max: timedelta = timedelta(hours=1)  # the longest delay between two attempts
    # How long a claimed item is left to its claimant before another may try it: longer than a
    # delivery can take (the SMTP timeout), or a slow delivery is sent twice.
    claim_lease: timedelta = timedelta(minutes=2)
    poll_interval: timedelta = timedelta(seconds=5)  # how often it looks for retries due and leases run out
    batch_size: int = 10  # items claimed, and sent concurrently, at a time

    def delay_after(self, attempts: int, jitter: float) -> timedelta:
        """The wait after ``attempts`` failed attempts: base·2^(attempts-1), capped, then scaled by
        ``jitter`` ∈ [0, 1) into its upper half, so that retries of many items spread out and
        each wait is still at least the one before."""
        doublings: int = min(attempts - 1, 32)
        full = min(self.retry_max, self.retry_base * (1 << doublings))
        return full * (0.5 + jitter / 2)


class OutboxObserver(Protocol):
    """Hears what the dispatcher does (metrics). Must not raise and must not block."""

    def delivered(self, kind: MailKind | WebhookEventType) -> None: ...

    def retried(self, kind: MailKind | WebhookEventType) -> None: ...

    def died(self, kind: MailKind | WebhookEventType) -> None: ...


class MailDispatcher:
    """Sends what the outbox holds. ``run`` is the loop the app's lifespan starts (``start``)
    and stops (``stop``); ``wake`` makes it look now; ``settle`` delivers every item due now.

    Several processes may run one each on the same database: claims skip what another holds,
    and an item whose claimant died is retried once its lease has run out. Delivery is at
    least once; each item carries the same Message-ID (a webhook: the same webhook-id) on
    every attempt. Webhook deliveries go through the same claims, retries and dead state,
    sent by ``webhooks`` (without it, they fail and are retried until dead).
    """

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        mailer: Mailer,
        sealer: SecretSealer,
        clock: Clock,
        policy: OutboxPolicy,
        observer: OutboxObserver | None = None,
        jitter: Callable[[], float] = random.random,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self._uow = uow
        self._mailer = mailer
        self._webhooks = webhooks
        self._sealer = sealer
        self._clock = clock
        self._policy = policy
        self._observer = observer
        self._jitter = jitter
        self._claimant = secrets.token_hex(8)  # this process, in the rows it claims
        self._wakeup = asyncio.Event()
        self._round_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.backlog = OutboxBacklog()  # as of the last look: for the metrics

    def wake(self) -> None:
        """Look at the outbox now (a commit queued something)."""
        self._wakeup.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self.run(), name="mail-dispatcher")

    async def stop(self) -> None:
        """Stop looking; deliveries under way finish first. What is still queued stays in the outbox."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                await self.settle()
                await self._look_at_backlog()
            except Exception:  # the database went away, say: the next look tries again
                logger.exception("outbox: delivery round failed; trying again in %s s", self._poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_seconds)

    @property
    def _poll_seconds(self) -> float:
        return self._policy.poll_interval.total_seconds()

    async def settle(self) -> int:
        """Deliver (or postpone) every item due now, after any round already under way; how many were tried."""
        tried = 0
        while claimed := await self._round():
            tried += claimed
        return tried

    async def _round(self) -> int:
        async with self._round_lock:
            now = self._clock.now()
            async with self._uow() as uow:
                items = await uow.outbox.claim(
                    now, now + self._policy.claim_lease, self._policy.batch_size, self._claimant
                )
                await uow.commit()
            outcomes = await asyncio.gather(*(self._deliver(item) for item in items), return_exceptions=True)
            for item, outcome in zip(items, outcomes, strict=True):
                if isinstance(outcome, BaseException):  # recording the outcome failed: the lease retries it
                    logger.error("outbox: item %s: outcome not recorded (%s)", item.id, type(outcome).__name__)
            return len(items)

    async def _deliver(self, item: OutboxItem) -> None:
        if item.attempts > self._policy.max_attempts:
            # Claimed more often than it may be tried, with no outcome recorded: each try ended
            # its process (or its claim's lease) before it could say. It is not tried again.
            await self._failed(item, "no_outcome")
            return
        try:
            if item.endpoint is not None:
                await self._send_webhook(item)
            else:
                mail = unseal(self._sealer, item)
                await self._mailer.send(mail, message_id=item.message_id)
        except DeliveryFailed as exc:
            await self._failed(item, _reason(exc))
        except Exception as exc:  # a bug (a template, a changed key): logged, and retried like a refusal
            logger.exception("outbox: item %s (%s) could not be sent", item.id, item.kind.value)
            await self._failed(item, type(exc).__name__)
        else:
            async with self._uow() as uow:
                await uow.outbox.delivered(item.id, self._clock.now())
                await uow.commit()
            logger.info("outbox: item %s (%s) delivered on attempt %d", item.id, item.kind.value, item.attempts)
            if self._observer is not None:
                self._observer.delivered(item.kind)

    async def _send_webhook(self, item: OutboxItem) -> None:
        if self._webhooks is None:
            raise DeliveryFailed("webhooks are not set up")
        await self._webhooks.send(unseal_delivery(self._sealer, item))

    async def _failed(self, item: OutboxItem, reason: str) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            if item.attempts >= self._policy.max_attempts:
                await uow.outbox.bury(item.id, self._claimant, now, reason)
                await uow.commit()
                logger.error(
                    "outbox: item %s (%s) is dead after %d attempts (%s)",
                    item.id,
                    item.kind.value,
                    item.attempts,
                    reason,
                )
                if self._observer is not None:
                    self._observer.died(item.kind)
                return
            delay = self._policy.delay_after(item.attempts, self._jitter())
            await uow.outbox.postpone(item.id, self._claimant, now + delay, reason)
            await uow.commit()
        logger.warning(
            "outbox: item %s (%s) attempt %d failed (%s); next in %.3f s",
            item.id,
            item.kind.value,
            item.attempts,
            reason,
            delay.total_seconds(),
        )
        if self._observer is not None:
            self._observer.retried(item.kind)

    async def _look_at_backlog(self) -> None:
        async with self._uow() as uow:
            self.backlog = await uow.outbox.backlog()


def _reason(exc: DeliveryFailed) -> str:
    """What went wrong, without the address or the mail: the cause's type (the SMTP reply code,
    if any), or a webhook's refusal as its sender put it (the HTTP status)."""
    cause = exc.__cause__
    if cause is None:
        return str(exc) or "DeliveryFailed"
    code = getattr(cause, "code", None)
    return f"{type(cause).__name__} {code}" if isinstance(code, int) else type(cause).__name__
