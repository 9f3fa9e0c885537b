"""Which webhook events each audited change announces, to which endpoints, with which facts;
and that nothing is queued when the change is not committed."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

from domain.entities import AuditEvent, AuditEventType, WebhookEndpoint, WebhookEventType
from domain.services.webhooks import WebhookAnnouncer, unseal_delivery
from tests.unit.fakes import FakeUnitOfWork

if TYPE_CHECKING:
    from tests.unit.fakes import FakeDatabase, FixedClock

USER = uuid.UUID("00000000-0000-4000-8000-000000000001")
SESSION = uuid.UUID("00000000-0000-4000-8000-000000000002")


class _ClearSealer:
    def seal(self, secret: bytes, context: bytes) -> bytes:
        return secret

    def open(self, sealed: bytes, context: bytes) -> bytes:
        return sealed


async def announced(
    database: FakeDatabase,
    clock: FixedClock,
    event_type: AuditEventType,
    detail: str | None = None,
    session_id: uuid.UUID | None = None,
    endpoints: tuple[WebhookEndpoint, ...] = (WebhookEndpoint("all"),),
    commit: bool = True,
) -> list[tuple[str, str, dict[str, str]]]:
    """(endpoint, type, data) of each item queued for ``event_type``."""
    woken: list[bool] = []
    announcer = WebhookAnnouncer(endpoints, _ClearSealer(), clock, lambda: woken.append(True))
    event = AuditEvent(event_type, clock.now(), USER, "203.0.113.9", "Phone/1.0", detail)
    async with FakeUnitOfWork(database) as uow:
        await announcer.announce(uow, event, USER, session_id)
        if commit:
            await uow.commit()
    assert bool(woken) == (commit and bool(database.state.outbox))
    found = []
    for item in database.state.outbox.values():
        delivery = unseal_delivery(_ClearSealer(), item)
        body = json.loads(delivery.body)
        assert body["type"] == item.kind.value
        assert item.endpoint == delivery.endpoint
        found.append((delivery.endpoint, body["type"], body["data"]))
    return found


@pytest.mark.parametrize(
    ("event_type", "detail", "expected"),
    [
        (AuditEventType.PROFILE_UPDATED, None, [("user.profile_updated", {})]),
        (AuditEventType.SECOND_FACTOR_ENABLED, "totp", [("user.factor_added", {"factor": "totp"})]),
        (AuditEventType.PASSKEY_REMOVED, None, [("user.factor_removed", {"factor": "passkey"})]),
        (AuditEventType.PROVIDER_LINKED, "acme:auto", [("user.identity_linked", {"provider_id": "acme"})]),
        (AuditEventType.PROVIDER_UNLINKED, "acme", [("user.identity_unlinked", {"provider_id": "acme"})]),
        (AuditEventType.ACCOUNT_CREATED_BY_PROVIDER, "acme", [("user.created", {"provider_id": "acme"})]),
        (
            AuditEventType.PROVIDER_SIGN_IN,
            "acme",
            [("session.created", {"provider_id": "acme", "method": "provider"})],
        ),
        (AuditEventType.ACCOUNT_CREATED_BY_SIGN_IN_CODE, None, [("user.created", {"method": "email_code"})]),
        (AuditEventType.LOGIN_SUCCEEDED, "email_code", [("session.created", {"method": "email_code"})]),
        (AuditEventType.LOGGED_OUT, "all:3", [("session.revoked", {"reason": "signed_out_everywhere"})]),
        (AuditEventType.REFRESH_TOKEN_REUSED, None, [("session.revoked", {"reason": "refresh_token_reused"})]),
        (AuditEventType.LOGIN_FAILED, "bad password", []),
        (AuditEventType.REGISTERED, None, []),  # an unverified sign-up is not announced
    ],
)
async def test_each_change_announces_its_events_with_ids_and_facts(
    database: FakeDatabase,
    clock: FixedClock,
    event_type: AuditEventType,
    detail: str | None,
    expected: list[tuple[str, dict[str, str]]],
) -> None:
    found = await announced(database, clock, event_type, detail)
    assert sorted((kind, data) for _, kind, data in found) == sorted(
        (kind, {"user_id": str(USER)} | data) for kind, data in expected
    )


async def test_a_sign_up_announces_the_account_and_its_first_session(database: FakeDatabase, clock: FixedClock) -> None:
    found = await announced(database, clock, AuditEventType.VERIFY_SUCCEEDED, session_id=SESSION)
    assert sorted(kind for _, kind, _ in found) == ["session.created", "user.created", "user.verified"]
    assert all(data["session_id"] == str(SESSION) for _, _, data in found)


async def test_a_reset_waiting_for_a_second_factor_announces_no_session(
    database: FakeDatabase, clock: FixedClock
) -> None:
    found = await announced(database, clock, AuditEventType.PASSWORD_RESET)
    assert [kind for _, kind, _ in found] == ["user.password_reset"]


async def test_each_endpoint_gets_what_it_asked_for(database: FakeDatabase, clock: FixedClock) -> None:
    endpoints = (
        WebhookEndpoint("all"),
        WebhookEndpoint("deletions", frozenset({WebhookEventType.USER_DELETED})),
        WebhookEndpoint("sessions", frozenset({WebhookEventType.SESSION_CREATED, WebhookEventType.SESSION_REVOKED})),
    )
    found = await announced(database, clock, AuditEventType.LOGIN_SUCCEEDED, session_id=SESSION, endpoints=endpoints)
    assert sorted(endpoint for endpoint, _, _ in found) == ["all", "sessions"]


async def test_nothing_is_queued_unless_the_change_commits(database: FakeDatabase, clock: FixedClock) -> None:
    assert await announced(database, clock, AuditEventType.PROFILE_UPDATED, commit=False) == []


async def test_no_endpoints_no_items(database: FakeDatabase, clock: FixedClock) -> None:
    assert await announced(database, clock, AuditEventType.PROFILE_UPDATED, endpoints=()) == []
