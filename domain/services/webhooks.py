"""Webhook events: each is written to the outbox in the transaction of the change it tells of,
one item per endpoint that wants it, and delivered afterwards by ``MailDispatcher``."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import TYPE_CHECKING

from domain.entities import AuditEventType, OutboxItem, WebhookDelivery, WebhookEventType

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from domain.entities import AuditEvent, WebhookEndpoint
    from domain.ports import Clock, SecretSealer, UnitOfWork

# Which audit events are announced, and as what: the audit trail sees every change of an
# account's life in the change's own transaction, so announcing from it misses none.
_ANNOUNCED: dict[AuditEventType, tuple[WebhookEventType, ...]] = {
    AuditEventType.VERIFY_SUCCEEDED: (
        WebhookEventType.USER_CREATED,
        WebhookEventType.USER_VERIFIED,
        WebhookEventType.SESSION_CREATED,
    ),
    AuditEventType.ACCOUNT_CREATED_BY_PROVIDER: (WebhookEventType.USER_CREATED,),
    AuditEventType.ACCOUNT_CREATED_BY_SIGN_IN_CODE: (WebhookEventType.USER_CREATED,),
    AuditEventType.PROFILE_UPDATED: (WebhookEventType.USER_PROFILE_UPDATED,),
    AuditEventType.EMAIL_CHANGED: (WebhookEventType.USER_EMAIL_CHANGED,),
    AuditEventType.PASSWORD_CHANGED: (WebhookEventType.USER_PASSWORD_CHANGED,),
    AuditEventType.PASSWORD_RESET: (WebhookEventType.USER_PASSWORD_RESET, WebhookEventType.SESSION_CREATED),
    AuditEventType.ACCOUNT_DELETED: (WebhookEventType.USER_DELETED,),
    AuditEventType.SECOND_FACTOR_ENABLED: (WebhookEventType.USER_FACTOR_ADDED,),
    AuditEventType.SECOND_FACTOR_REMOVED: (WebhookEventType.USER_FACTOR_REMOVED,),
    AuditEventType.PASSKEY_ADDED: (WebhookEventType.USER_FACTOR_ADDED,),
    AuditEventType.PASSKEY_REMOVED: (WebhookEventType.USER_FACTOR_REMOVED,),
    AuditEventType.PROVIDER_LINKED: (WebhookEventType.USER_IDENTITY_LINKED,),
    AuditEventType.PROVIDER_UNLINKED: (WebhookEventType.USER_IDENTITY_UNLINKED,),
    AuditEventType.LOGIN_SUCCEEDED: (WebhookEventType.SESSION_CREATED,),
    AuditEventType.PROVIDER_SIGN_IN: (WebhookEventType.SESSION_CREATED,),
    AuditEventType.LOGGED_OUT: (WebhookEventType.SESSION_REVOKED,),
    AuditEventType.SESSION_REVOKED: (WebhookEventType.SESSION_REVOKED,),
    AuditEventType.REFRESH_TOKEN_REUSED: (WebhookEventType.SESSION_REVOKED,),
}

# Changes that sign in too, unless a second factor is still to come (then no session is given)
_SIGNING_IN = {AuditEventType.VERIFY_SUCCEEDED, AuditEventType.PASSWORD_RESET}

_PROVIDER_EVENTS = {
    AuditEventType.ACCOUNT_CREATED_BY_PROVIDER,
    AuditEventType.PROVIDER_SIGN_IN,
    AuditEventType.PROVIDER_LINKED,
    AuditEventType.PROVIDER_UNLINKED,
}
_FACTORS = {
    AuditEventType.SECOND_FACTOR_ENABLED: "totp",
    AuditEventType.SECOND_FACTOR_REMOVED: "totp",
    AuditEventType.PASSKEY_ADDED: "passkey",
    AuditEventType.PASSKEY_REMOVED: "passkey",
}
_REVOKED_BECAUSE = {
    AuditEventType.LOGGED_OUT: "signed_out",
    AuditEventType.SESSION_REVOKED: "revoked",
    AuditEventType.REFRESH_TOKEN_REUSED: "refresh_token_reused",
}


def webhook_data(event: AuditEvent, user_id: uuid.UUID, session_id: uuid.UUID | None) -> dict[str, str]:
    """The facts an event's payload carries: ids and what happened, never an address, a code,
    a token or a secret (the audit event holds none; its ``detail`` is read only where it is an
    id: the provider's, or how someone signed in)."""
    data = {"user_id": str(user_id)}
    if session_id is not None:
        data["session_id"] = str(session_id)
    if event.type in _PROVIDER_EVENTS and event.detail:
        data["provider_id"] = event.detail.split(":", 1)[0]
    if event.type in _FACTORS:
        data["factor"] = _FACTORS[event.type]
    if event.type in _REVOKED_BECAUSE:
        data["reason"] = _REVOKED_BECAUSE[event.type]
    if event.type is AuditEventType.LOGGED_OUT and event.detail and event.detail.startswith("all:"):
        data["reason"] = "signed_out_everywhere"
    if event.type is AuditEventType.LOGIN_SUCCEEDED:
        data["method"] = event.detail or "password"
    if event.type is AuditEventType.VERIFY_SUCCEEDED:
        data["method"] = "sign_up"
    if event.type is AuditEventType.PASSWORD_RESET:
        data["method"] = "password_reset"
    if event.type is AuditEventType.PROVIDER_SIGN_IN:
        data["method"] = "provider"
    if event.type is AuditEventType.ACCOUNT_CREATED_BY_SIGN_IN_CODE:
        data["method"] = "email_code"
    return data


class WebhookAnnouncer:
    """Writes an event for each endpoint that wants it into the caller's unit of work, sealed
    like a mail; ``wake`` is called once that commits. With no endpoints it writes nothing."""

    def __init__(
        self,
        endpoints: Sequence[WebhookEndpoint],
        sealer: SecretSealer,
        clock: Clock,
        wake: Callable[[], None],
    ) -> None:
        self._endpoints = tuple(endpoints)
        self._sealer = sealer
        self._clock = clock
        self._wake = wake

    async def announce(
        self, uow: UnitOfWork, event: AuditEvent, user_id: uuid.UUID | None, session_id: uuid.UUID | None
    ) -> None:
        if not self._endpoints or user_id is None:
            return
        for event_type in _ANNOUNCED.get(event.type, ()):
            if event_type is WebhookEventType.SESSION_CREATED and event.type in _SIGNING_IN and session_id is None:
                continue
            await self._queue(uow, event_type, event, user_id, session_id)

    async def _queue(
        self,
        uow: UnitOfWork,
        event_type: WebhookEventType,
        event: AuditEvent,
        user_id: uuid.UUID,
        session_id: uuid.UUID | None,
    ) -> None:
        wanting = [endpoint for endpoint in self._endpoints if endpoint.wants(event_type)]
        if not wanting:
            return
        # One id per event, the same for every endpoint and every attempt: a receiver drops a copy.
        webhook_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps(
            {
                "type": event_type.value,
                "timestamp": event.occurred_at.isoformat(),
                "data": webhook_data(event, user_id, session_id),
            },
            separators=(",", ":"),
        )
        now = self._clock.now()
        for endpoint in wanting:
            item_id = uuid.uuid4()
            delivery = WebhookDelivery(endpoint=endpoint.id, webhook_id=webhook_id, body=body)
            sealed = self._sealer.seal(json.dumps(dataclasses.asdict(delivery)).encode(), item_id.bytes)
            await uow.outbox.add(
                OutboxItem(item_id, event_type, sealed, created_at=now, next_attempt_at=now, endpoint=endpoint.id)
            )
        uow.after_commit(self._wake)


def unseal_delivery(sealer: SecretSealer, item: OutboxItem) -> WebhookDelivery:
    """The delivery ``WebhookAnnouncer`` sealed into ``item``; ``ValueError`` if it was changed."""
    return WebhookDelivery(**json.loads(sealer.open(item.sealed_mail, item.id.bytes)))
