"""The SMTP adapter against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging

import pytest

from domain.entities import OutgoingMail
from domain.errors import DeliveryFailed
from mail.smtp import SmtpConfig, SmtpMailer
from tests.conftest import SmtpSink

MAIL = OutgoingMail(to="someone@example.com", subject="Your code", text="Your code is 424242.\n")


def mailer(port: int) -> SmtpMailer:
    return SmtpMailer(SmtpConfig(host="127.0.0.1", port=port, sender="Gateway <gw@example.com>", timeout_seconds=3))


class TestSmtpMailer:
    async def test_delivers_the_message(self, smtp_server: SmtpSink) -> None:
        await mailer(smtp_server.port).send(MAIL)
        [message] = smtp_server.messages
        assert message["To"] == "someone@example.com"
        assert message["From"] == "Gateway <gw@example.com>"
        assert smtp_server.bodies_to("someone@example.com") == ["Your code is 424242.\r\n"]

    async def test_never_logs_the_message_content(
        self, smtp_server: SmtpSink, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        await mailer(smtp_server.port).send(MAIL)
        # everything logged on the sending side: ours and aiosmtplib's ("mail.log" is the test server)
        client_side = [r.getMessage() for r in caplog.records if r.name != "mail.log"]
        assert any("someone@example.com" in line for line in client_side)
        assert not any("424242" in line for line in client_side)

    async def test_refused_message_raises_delivery_failed(
        self, refusing_smtp_server: SmtpSink, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        with pytest.raises(DeliveryFailed):
            await mailer(refusing_smtp_server.port).send(MAIL)
        assert not any("424242" in r.getMessage() for r in caplog.records if r.name != "mail.log")

    async def test_server_not_listening_raises_delivery_failed(self, closed_smtp_port: int) -> None:
        with pytest.raises(DeliveryFailed):
            await mailer(closed_smtp_port).send(MAIL)
