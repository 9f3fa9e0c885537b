from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING

import aiosmtplib

from domain.errors import DeliveryFailed

if TYPE_CHECKING:
    from domain.entities import OutgoingMail

logger = logging.getLogger("gateway.mail")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    # None: upgrade with STARTTLS when the server offers it
    starttls: bool | None = None
    # implicit TLS from the first byte (usually port 465)
    use_tls: bool = False
    timeout_seconds: float = 10.0


class SmtpMailer:
    """Sends through an SMTP server with aiosmtplib.

    Logs only that a message went to a recipient, never its subject or body: they
    carry one-time codes.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, mail: OutgoingMail) -> None:
        config = self._config
        message = EmailMessage()
        message["From"] = config.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid()
        message.set_content(mail.text)
        try:
            await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                start_tls=config.starttls,
                use_tls=config.use_tls,
                timeout=config.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            logger.error("mail to %s via %s:%s failed: %s", mail.to, config.host, config.port, type(exc).__name__)
            raise DeliveryFailed from exc
        logger.info("mail sent to %s", mail.to)
