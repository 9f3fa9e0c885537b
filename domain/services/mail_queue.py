from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from domain.errors import DeliveryFailed

if TYPE_CHECKING:
    from domain.entities import OutgoingMail
    from domain.ports import Mailer

logger = logging.getLogger(__name__)


class MailQueue:
    """Sends mail after the answer has gone, for the messages that must not shape it.

    Two kinds: notices of a change already committed (a failed notice must not
    undo the change), and codes whose sending would otherwise tell, by a
    ``DeliveryFailed`` or by taking longer, that an address has an account. A
    message that cannot be delivered is logged (recipient and kind only) and
    dropped; the person asks again.
    """

    def __init__(self, mailer: Mailer) -> None:
        self._mailer = mailer
        self._pending: set[asyncio.Task[None]] = set()

    def post(self, mail: OutgoingMail) -> None:
        task = asyncio.get_running_loop().create_task(self._send(mail))
        self._pending.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._pending.discard)

    async def _send(self, mail: OutgoingMail) -> None:
        try:
            await self._mailer.send(mail)
        except DeliveryFailed:
            logger.error("queued %s mail to %s could not be delivered; dropped", mail.kind.value, mail.to)
        except Exception:  # a bug; nobody awaits this task to see it
            logger.exception("queued %s mail to %s failed unexpectedly; dropped", mail.kind.value, mail.to)

    async def drain(self) -> None:
        """Wait until every posted message is sent or dropped: at shutdown, and in tests."""
        while self._pending:
            await asyncio.gather(*self._pending)
