"""The mail outbox: services write each mail in the transaction of the change that causes it;
``MailDispatcher`` delivers it afterwards."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import TYPE_CHECKING

from domain.entities import MailKind, OutboxItem, OutgoingMail

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.ports import Clock, SecretSealer, UnitOfWork


class SealedOutbox:
    """``Outbox``: each mail sealed (its address and code are unreadable in the table) and added
    to the caller's unit of work; ``wake`` is called once that commits, so the dispatcher
    sends a code at once rather than at its next look."""

    def __init__(self, sealer: SecretSealer, clock: Clock, wake: Callable[[], None]) -> None:
        self._sealer = sealer
        self._clock = clock
        self._wake = wake

    async def queue(self, uow: UnitOfWork, mail: OutgoingMail) -> None:
        now = self._clock.now()
        item_id = uuid.uuid4()
        sealed = self._sealer.seal(json.dumps(dataclasses.asdict(mail)).encode(), item_id.bytes)
        await uow.outbox.add(OutboxItem(item_id, mail.kind, sealed, created_at=now, next_attempt_at=now))
        uow.after_commit(self._wake)


def unseal(sealer: SecretSealer, item: OutboxItem) -> OutgoingMail:
    """The mail ``SealedOutbox`` sealed into ``item``; ``ValueError`` if it was changed."""
    fields = json.loads(sealer.open(item.sealed_mail, item.id.bytes))
    fields["kind"] = MailKind(fields["kind"])
    return OutgoingMail(**fields)
