from __future__ import annotations

import io

from domain import messages
from domain.entities import MailKind
from mail.console import ConsoleMailer
from tests.integration.test_mail_templates import AT


async def test_prints_the_subject_and_text_for_the_developer() -> None:
    stream = io.StringIO()
    await ConsoleMailer("Gateway <gw@example.com>", stream).send(
        messages.code("dev@example.com", MailKind.VERIFY_EMAIL, "Acme", "314159", 600)
    )
    printed = stream.getvalue()
    assert "From: Gateway <gw@example.com>" in printed
    assert "To: dev@example.com" in printed
    assert "Subject: Your Acme verification code" in printed
    assert "\n    314159\n" in printed
    assert "valid for 10 minutes" in printed


async def test_leaves_the_html_out() -> None:
    stream = io.StringIO()
    await ConsoleMailer("Gateway <gw@example.com>", stream).send(
        messages.password_changed("dev@example.com", "Acme", at=AT, client=None)
    )
    printed = stream.getvalue()
    assert "was just changed" in printed
    assert "<html" not in printed
    assert "<p" not in printed
