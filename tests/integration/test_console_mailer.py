from __future__ import annotations

import io

from domain.entities import OutgoingMail
from mail.console import ConsoleMailer


async def test_prints_the_whole_message_for_the_developer() -> None:
    stream = io.StringIO()
    await ConsoleMailer("Gateway <gw@example.com>", stream).send(
        OutgoingMail(to="dev@example.com", subject="Your code", text="Your code is 314159.\n")
    )
    printed = stream.getvalue()
    assert "To: dev@example.com" in printed
    assert "From: Gateway <gw@example.com>" in printed
    assert "Your code is 314159." in printed
