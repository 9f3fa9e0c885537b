from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from domain.entities import OutgoingMail


class ConsoleMailer:
    """Prints each message instead of sending it: the development default.

    It prints the whole message, code included, because reading the code off the
    console is the point; never use it in production.
    """

    def __init__(self, sender: str, stream: TextIO | None = None) -> None:
        self._sender = sender
        self._stream = stream

    async def send(self, mail: OutgoingMail) -> None:
        stream = self._stream or sys.stdout
        stream.write(
            "----- e-mail (console backend) -----\n"
            f"From: {self._sender}\nTo: {mail.to}\nSubject: {mail.subject}\n\n"
            f"{mail.text}"
            "------------------------------------\n"
        )
        stream.flush()
