"""Mail delivery off the request path: ``register`` against a slow mail server and an instant
one, and how many mails a second the outbox dispatcher sends (docs/performance.md).

Both need a gateway whose SMTP server is the bench's ``HeldSmtpSink``: its ``delay_seconds``
makes it a slow server, its ``holding`` keeps the dispatcher's first batch waiting while the
outbox fills.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.support.mail import HeldSmtpSink

SLOW_SINK_SECONDS = 0.5  # a slow mail server: each message is answered this long after its data
REGISTER_ROUNDS = 3  # instant and slow sink alternate, so drift of the machine hits both
REGISTERS_PER_ROUND = 8  # per sink and round, one at a time
QUEUED_MAILS = 500  # in the outbox at once when the dispatcher is let go
QUEUEING_CONNECTIONS = 4
ERRORS = "... on Error { code message }"
REGISTER = f"mutation($i: RegisterInput!) {{ register(input: $i) {{ __typename {ERRORS} }} }}"
RESET = f"mutation($i: RequestPasswordResetInput!) {{ requestPasswordReset(input: $i) {{ __typename {ERRORS} }} }}"


@dataclass
class RegisterLatency:
    """``register``'s times (ms), one request at a time, by the sink's delay."""

    instant_ms: list[float] = field(default_factory=list)
    slow_ms: list[float] = field(default_factory=list)
    bad_samples: list[str] = field(default_factory=list)

    def values(self) -> dict[str, float]:
        instant, slow = statistics.median(self.instant_ms), statistics.median(self.slow_ms)
        return {
            "register_p50_ms_instant_sink": round(instant, 1),
            "register_p50_ms_slow_sink": round(slow, 1),
            "register_slow_sink_ms": SLOW_SINK_SECONDS * 1000,
            "register_slow_sink_ratio": round(slow / instant, 3),
        }


def time_registers(url: str, mailbox: HeldSmtpSink, password: str) -> RegisterLatency:
    """Register fresh addresses one at a time, alternating rounds of an instant and a slow sink.
    Every mail of a round has arrived before the next round starts, so no round pays for the last."""
    latency = RegisterLatency()
    with httpx.Client(base_url=url, timeout=30) as http:
        for round_number in range(1, REGISTER_ROUNDS + 1):
            for delay, times in ((0.0, latency.instant_ms), (SLOW_SINK_SECONDS, latency.slow_ms)):
                mailbox.delay_seconds = delay
                expected = mailbox.count()
                for number in range(REGISTERS_PER_ROUND):
                    email = f"delivery-{round_number}-{number}-{int(delay * 1000)}@example.com"
                    names = {"email": email, "password": password, "firstName": "Mail", "lastName": "Bench"}
                    started = time.perf_counter()
                    answer = http.post("/graphql", json={"query": REGISTER, "variables": {"i": names}})
                    elapsed = (time.perf_counter() - started) * 1000
                    typename = answer.json().get("data", {}).get("register", {}).get("__typename")
                    if answer.status_code == 200 and typename == "OtpSent":
                        times.append(elapsed)
                        expected += 1
                    else:
                        latency.bad_samples.append(f"register: {answer.status_code} {answer.text[:200]}")
                mailbox.wait_for_count(expected, timeout=60)
    mailbox.delay_seconds = 0.0
    return latency


@dataclass(frozen=True)
class DispatchRate:
    mails: int
    seconds: float
    queueing_seconds: float
    bad_samples: list[str]

    @property
    def per_second(self) -> float:
        return self.mails / self.seconds

    def values(self) -> dict[str, float]:
        return {
            "outbox_mails": self.mails,
            "outbox_drain_seconds": round(self.seconds, 2),
            "outbox_mails_per_s": round(self.per_second, 1),
        }


def time_dispatch(url: str, mailbox: HeldSmtpSink, emails: list[str], mails: int = QUEUED_MAILS) -> DispatchRate:
    """Queue ``mails`` password-reset mails to ``emails`` (verified accounts) while the sink holds
    the dispatcher's first batch, then let it go: ``mails`` over the time from the release to
    the last arrival."""
    before = mailbox.count()
    mailbox.release.clear()
    mailbox.sending.clear()
    mailbox.holding = True
    try:
        started = time.monotonic()
        bad = asyncio.run(_queue_resets(url, [emails[number % len(emails)] for number in range(mails)]))
        queueing = time.monotonic() - started
        if not mailbox.sending.wait(30):
            raise AssertionError("the dispatcher sent nothing while the outbox filled")
    finally:
        mailbox.holding = False
        released = time.monotonic()
        mailbox.release.set()
    sent = mails - len(bad)
    last = mailbox.wait_for_count(before + sent, timeout=120)
    return DispatchRate(mails=sent, seconds=last - released, queueing_seconds=queueing, bad_samples=bad)


async def _queue_resets(url: str, emails: list[str]) -> list[str]:
    """Ask for a reset code for each of ``emails``, on a few connections at once; the unexpected answers."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for email in emails:
        queue.put_nowait(email)
    bad: list[str] = []

    async def connection() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            while not queue.empty():
                email = queue.get_nowait()
                answer = await http.post("/graphql", json={"query": RESET, "variables": {"i": {"email": email}}})
                typename = answer.json().get("data", {}).get("requestPasswordReset", {}).get("__typename")
                if answer.status_code != 200 or typename != "OtpSent":
                    bad.append(f"requestPasswordReset: {answer.status_code} {answer.text[:200]}")

    await asyncio.gather(*(connection() for _ in range(QUEUEING_CONNECTIONS)))
    return bad
