from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import AuditEvent, truncated_user_agent

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import AuditEventType, Client
    from domain.ports import AuditObserver, Clock, UnitOfWork
    from domain.services.webhooks import WebhookAnnouncer


class AuditTrail:
    """Writes authentication events to the audit log.

    An event that belongs to a change (a sign-in, a rotation) is written in that
    change's unit of work, so both are kept or neither; a failure, which changes
    nothing else, is written on its own. An ``observer`` (the metrics) hears of
    each event as it is recorded. Events of an account's life are announced to the
    ``webhooks`` endpoints in the same unit of work: kept with the change, or gone with it.
    """

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        observer: AuditObserver | None = None,
        webhooks: WebhookAnnouncer | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._observer = observer
        self._webhooks = webhooks

    async def record(
        self,
        uow: UnitOfWork,
        event_type: AuditEventType,
        client: Client,
        user_id: UUID | None = None,
        detail: str | None = None,
        *,
        session_id: UUID | None = None,
        forgotten_user_id: UUID | None = None,
        announce: bool = True,
    ) -> None:
        """Write the event in ``uow``. ``session_id``: the session it tells of, for webhooks only
        (the audit log has no column for it); ``forgotten_user_id``: the account a deletion
        announces to webhooks, which the audit log must not keep; ``announce=False``: audited
        only, for an act that changed nothing a webhook receiver knows of."""
        event = self.event(event_type, client, user_id, detail)
        await uow.audit.add(event)
        if self._webhooks is not None and announce:
            await self._webhooks.announce(uow, event, user_id or forgotten_user_id, session_id)
        self.written(event)

    def event(
        self, event_type: AuditEventType, client: Client, user_id: UUID | None = None, detail: str | None = None
    ) -> AuditEvent:
        """The event as ``record`` writes it, for a repository that writes it with its change
        (a rotation: ``SessionRepository.rotate``); tell ``written`` once it is. Never announced
        to webhooks."""
        return AuditEvent(
            type=event_type,
            occurred_at=self._clock.now(),
            user_id=user_id,
            client_ip=client.ip,
            user_agent=truncated_user_agent(client.user_agent),
            detail=detail,
        )

    def written(self, event: AuditEvent) -> None:
        """``event`` is in the audit log: the observer (the metrics) hears of it."""
        if self._observer is not None:
            self._observer.observe(event)

    async def record_alone(
        self,
        event_type: AuditEventType,
        client: Client,
        user_id: UUID | None = None,
        detail: str | None = None,
    ) -> None:
        async with self._uow() as uow:
            await self.record(uow, event_type, client, user_id, detail)
            await uow.commit()
