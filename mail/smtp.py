from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import TYPE_CHECKING

import aiosmtplib

from domain.errors import DeliveryFailed
from mail.render import MailRenderer, default_renderer

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
    """Sends through an SMTP server with aiosmtplib, as ``multipart/alternative``: text, then HTML.

    Logs only the kind and the Message-ID of a message, never its recipient, subject or
    body: they carry addresses and one-time codes.
    """

    def __init__(self, config: SmtpConfig, renderer: MailRenderer = default_renderer) -> None:
        self._config = config
        self._renderer = renderer

    async def send(self, mail: OutgoingMail, message_id: str | None = None) -> None:
        config = self._config
        rendered = self._renderer.render(mail)
        message = EmailMessage()
        message["From"] = config.sender
        message["To"] = mail.to
        message["Subject"] = rendered.subject
        message["Message-ID"] = (
            make_msgid(domain=_domain_of(config.sender))
            if message_id is None
            else (f"<{message_id}@{_domain_of(config.sender)}>")
        )
        # clients show the last alternative they can display: the plain text is the fallback
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
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
            logger.error(
                "%s mail %s via %s:%s failed: %s",
                mail.kind,
                message["Message-ID"],
                config.host,
                config.port,
                type(exc).__name__,
            )
            raise DeliveryFailed from exc
        logger.info("%s mail %s sent", mail.kind, message["Message-ID"])


def _domain_of(sender: str) -> str:
    """The domain of the From address, for Message-IDs (``localhost`` when it has none)."""
    _, address = parseaddr(sender)
    return address.rpartition("@")[2] or "localhost"
