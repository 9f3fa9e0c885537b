from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from mail.render import MailRenderer, default_renderer

if TYPE_CHECKING:
    from domain.entities import OutgoingMail


class ConsoleMailer:
    """Prints each message instead of sending it: the development default.

    It prints the subject and the plain-text body, code included, because reading
    the code off the console is the point; never use it in production. The HTML
    version is rendered too (so a broken template fails here as it would over
    SMTP) but not printed.
    """

    def __init__(self, sender: str, stream: TextIO | None = None, renderer: MailRenderer = default_renderer) -> None:
        self._sender = sender
        self._stream = stream
        self._renderer = renderer

    async def send(self, mail: OutgoingMail, message_id: str | None = None) -> None:
        rendered = self._renderer.render(mail)
        stream = self._stream or sys.stdout
        stream.write(
            "----- e-mail (console backend) -----\n"
            f"From: {self._sender}\nTo: {mail.to}\nSubject: {rendered.subject}\n\n"
            f"{rendered.text}"
            "------------------------------------\n"
        )
        stream.flush()
