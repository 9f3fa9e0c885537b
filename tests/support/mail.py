"""A real SMTP server (aiosmtpd, in its own thread) on localhost that keeps what it receives."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

from tests.support.processes import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from email.message import Message

ACCEPTED = "250 Message accepted for delivery"
CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class SmtpSink:
    """What the server received, oldest first; ``reply`` is its answer to every message, given
    ``delay_seconds`` after the message's data arrived (a slow mail server); ``arrived`` holds
    when each message was accepted (``time.monotonic()``)."""

    port: int
    reply: str = ACCEPTED
    delay_seconds: float = 0.0
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> None:
        """Listen on ``port`` (again, after ``stop``: an outage that ends)."""
        # SMTPUTF8, as most mail servers offer: internationalised addresses (straße@…) travel as typed
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections to ``port`` are refused, as from a mail server that is down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)  # each session its own wait, as on a slow server
        if self.reply.startswith("250"):
            with self._lock:
                self.messages.append(message_from_bytes(envelope.content))
                self.recipients.append(list(envelope.rcpt_tos))
                self.arrived.append(time.monotonic())
        return self.reply

    def count(self) -> int:
        """How many messages were accepted so far."""
        with self._lock:
            return len(self.messages)

    def wait_for_count(self, count: int, timeout: float = 60.0) -> float:
        """Wait until ``count`` messages in all were accepted; when the last of them was."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.arrived) >= count:
                    return self.arrived[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.count()} of {count} messages arrived within {timeout} s")
            time.sleep(0.01)

    def bodies_to(self, address: str) -> list[str]:
        """The plain-text body of each message to ``address``, decoded, oldest first."""
        return self._parts_to(address, "text/plain")

    def html_bodies_to(self, address: str) -> list[str]:
        """The HTML body of each message to ``address``, decoded, oldest first."""
        return self._parts_to(address, "text/html")

    def wait_for_code(self, address: str, timeout: float = 10.0) -> str:
        """The six-digit code of the latest message to ``address``, waiting up to ``timeout`` seconds for one."""
        deadline = time.monotonic() + timeout
        while True:
            bodies = self.bodies_to(address)
            match = CODE.search(bodies[-1]) if bodies else None
            if match:
                return match.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(f"no code mailed to {address} within {timeout} s")
            time.sleep(0.05)

    def _parts_to(self, address: str, content_type: str) -> list[str]:
        with self._lock:
            received = list(zip(self.messages, self.recipients, strict=True))
        return [_decoded_part(message, content_type) for message, rcpts in received if address in rcpts]


def _decoded_part(message: Message, content_type: str) -> str:
    """The one part of ``message`` (multipart or not) of ``content_type``; fails if there is not exactly one."""
    [part] = [part for part in message.walk() if part.get_content_type() == content_type]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes), f"{content_type} part has no payload"
    return payload.decode(part.get_content_charset() or "utf-8")


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """A running sink on a free port; stopped on leaving."""
    sink = SmtpSink(port=free_port())
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@dataclass
class HeldSmtpSink(SmtpSink):
    """An SMTP server that, while ``holding``, keeps a sender waiting at MAIL FROM until ``release`` is set."""

    holding: bool = False
    sending: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.holding:
            self.sending.set()
            await asyncio.to_thread(self.release.wait, 30)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


@contextmanager
def held_smtp_sink() -> Iterator[HeldSmtpSink]:
    """A running ``HeldSmtpSink`` on a free port; released and stopped on leaving."""
    sink = HeldSmtpSink(port=free_port())
    sink.start()
    try:
        yield sink
    finally:
        sink.release.set()
        sink.stop()
