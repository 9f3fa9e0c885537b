"""The SMTP adapter against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging

import pytest
from jinja2 import UndefinedError

from domain import messages
from domain.entities import MailKind, OutgoingMail
from domain.errors import DeliveryFailed
from mail.smtp import SmtpConfig, SmtpMailer
from tests.integration.test_mail_templates import AT
from tests.support.mail import SmtpSink

CODE = "424242"
MAIL = messages.code("someone@example.com", MailKind.VERIFY_EMAIL, "Acme", CODE, 600)


def mailer(port: int) -> SmtpMailer:
    return SmtpMailer(SmtpConfig(host="127.0.0.1", port=port, sender="Gateway <gw@example.com>", timeout_seconds=3))


def client_side_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Everything logged on the sending side: ours and aiosmtplib's ("mail.log" is the test server)."""
    return [record.getMessage() for record in caplog.records if record.name != "mail.log"]


class TestSmtpMailer:
    async def test_delivers_text_then_html_as_alternatives(self, smtp_server: SmtpSink) -> None:
        await mailer(smtp_server.port).send(MAIL)
        [message] = smtp_server.messages
        assert message["To"] == "someone@example.com"
        assert message["From"] == "Gateway <gw@example.com>"
        assert message["Subject"] == "Your Acme verification code"
        assert [part.get_content_type() for part in message.walk()] == [
            "multipart/alternative",
            "text/plain",
            "text/html",
        ]
        [text] = smtp_server.bodies_to("someone@example.com")
        [html] = smtp_server.html_bodies_to("someone@example.com")
        assert CODE in text
        assert "valid for 10 minutes" in text
        assert "<" not in text
        assert f">{CODE}</p>" in html

    @pytest.mark.parametrize(
        "mail",
        [
            messages.already_registered("someone@example.com", "Acme"),
            messages.password_changed("someone@example.com", "Acme", at=AT, client=None),
            messages.email_changed("someone@example.com", "Acme", "other@example.com", at=AT, client=None),
        ],
        ids=lambda mail: str(mail.kind),
    )
    async def test_delivers_notices_in_both_forms(self, smtp_server: SmtpSink, mail: OutgoingMail) -> None:
        await mailer(smtp_server.port).send(mail)
        [text] = smtp_server.bodies_to("someone@example.com")
        [html] = smtp_server.html_bodies_to("someone@example.com")
        assert "Acme" in text
        assert "Acme" in html

    async def test_logs_the_kind_and_message_id_never_the_recipient_or_content(
        self, smtp_server: SmtpSink, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        await mailer(smtp_server.port).send(MAIL, message_id="0123abcd")
        logged = client_side_log(caplog)
        assert str(smtp_server.messages[0]["Message-ID"]) == "<0123abcd@example.com>"
        assert any("<0123abcd@example.com>" in line and "verify_email" in line for line in logged)
        assert not any("someone@example.com" in line for line in logged)
        assert not any(CODE in line for line in logged)
        assert not any("verification code" in line for line in logged)

    async def test_refused_message_raises_delivery_failed(
        self, refusing_smtp_server: SmtpSink, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        with pytest.raises(DeliveryFailed):
            await mailer(refusing_smtp_server.port).send(MAIL)
        logged = client_side_log(caplog)
        assert any("verify_email" in line and "failed" in line for line in logged)
        assert not any("someone@example.com" in line for line in logged)
        assert not any(CODE in line for line in logged)
        assert not any("verification code" in line for line in logged)

    async def test_server_not_listening_raises_delivery_failed(
        self, closed_smtp_port: int, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        with pytest.raises(DeliveryFailed):
            await mailer(closed_smtp_port).send(MAIL)
        assert not any(CODE in line for line in client_side_log(caplog))

    async def test_a_mail_that_cannot_render_is_not_sent(self, smtp_server: SmtpSink) -> None:
        incomplete = OutgoingMail(to="someone@example.com", kind=MailKind.VERIFY_EMAIL, product="Acme")
        with pytest.raises(UndefinedError):
            await mailer(smtp_server.port).send(incomplete)
        assert smtp_server.messages == []
