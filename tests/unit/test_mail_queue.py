from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import pytest

from domain import messages
from domain.entities import MailKind
from domain.services.mail_queue import MailQueue

if TYPE_CHECKING:
    from domain.entities import OutgoingMail
    from tests.unit.fakes import FakeMailer

CODE = "428571"


@pytest.fixture
def queue(mailer: FakeMailer) -> MailQueue:
    return MailQueue(mailer)


@pytest.fixture
def reset_mail() -> OutgoingMail:
    """A message that carries a code, which must never reach a log."""
    return messages.code("alice@example.com", MailKind.RESET_PASSWORD, "Auth Gateway", CODE, 600)


class BrokenMailer:
    """A mailer with a bug: it raises something other than ``DeliveryFailed``."""

    async def send(self, mail: OutgoingMail) -> None:
        raise RuntimeError("template missing")


class TestPost:
    async def test_delivers_once_drained(self, queue: MailQueue, mailer: FakeMailer, reset_mail: OutgoingMail) -> None:
        notice = messages.password_changed("bob@example.com", "Auth Gateway")
        queue.post(reset_mail)
        queue.post(notice)

        await queue.drain()

        assert mailer.sent == [reset_mail, notice]

    async def test_returns_before_the_mail_is_sent(
        self, queue: MailQueue, mailer: FakeMailer, reset_mail: OutgoingMail
    ) -> None:
        queue.post(reset_mail)

        assert mailer.sent == []
        await queue.drain()

    async def test_a_refused_mail_is_logged_without_its_code_and_dropped(
        self,
        queue: MailQueue,
        mailer: FakeMailer,
        reset_mail: OutgoingMail,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        mailer.failing = True
        with caplog.at_level(logging.ERROR, logger="domain.services.mail_queue"):
            queue.post(reset_mail)
            await queue.drain()

        (record,) = caplog.records
        assert record.levelno == logging.ERROR
        assert "alice@example.com" in record.getMessage()
        assert "reset_password" in record.getMessage()
        assert CODE not in caplog.text
        assert mailer.sent == []

    async def test_a_refused_mail_does_not_stop_the_next_one(
        self, queue: MailQueue, mailer: FakeMailer, reset_mail: OutgoingMail, caplog: pytest.LogCaptureFixture
    ) -> None:
        mailer.failing = True
        with caplog.at_level(logging.ERROR):
            queue.post(reset_mail)
            await queue.drain()
        mailer.failing = False

        queue.post(reset_mail)
        await queue.drain()

        assert mailer.sent == [reset_mail]

    async def test_an_unexpected_error_is_logged_in_full_and_dropped(
        self, reset_mail: OutgoingMail, caplog: pytest.LogCaptureFixture
    ) -> None:
        queue = MailQueue(BrokenMailer())
        with caplog.at_level(logging.ERROR, logger="domain.services.mail_queue"):
            queue.post(reset_mail)
            await queue.drain()

        (record,) = caplog.records
        assert record.exc_info is not None
        assert "alice@example.com" in record.getMessage()
        assert CODE not in caplog.text


class TestDrain:
    async def test_with_nothing_pending_returns_at_once(self, queue: MailQueue, mailer: FakeMailer) -> None:
        await asyncio.wait_for(queue.drain(), timeout=1)
        assert mailer.sent == []

    async def test_twice_delivers_once(self, queue: MailQueue, mailer: FakeMailer, reset_mail: OutgoingMail) -> None:
        queue.post(reset_mail)
        await queue.drain()
        await queue.drain()

        assert mailer.sent == [reset_mail]
