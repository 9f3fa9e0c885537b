from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from domain.entities import Principal
    from domain.policy import AuthPolicy
    from domain.ports import Clock, UnitOfWork

# How far back the export's audit events go, and how many at most (the newest).
EXPORTED_AUDIT_PERIOD = timedelta(days=90)
EXPORTED_AUDIT_EVENTS = 1000


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class DataExportService:
    """What the gateway holds about the signed-in person, as plain JSON-ready data.

    Only the person's own rows, read in one transaction, and never what proves or grants
    anything: no password hash, authenticator-app secret, recovery-code hash, refresh-token
    seed or hash, passkey public key, or code. The known-device hashes are left out too: they
    mean nothing without the server's key.
    """

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock, policy: AuthPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def export(self, principal: Principal) -> dict[str, Any]:
        now = self._clock.now()
        user_id = principal.user.id
        async with self._uow() as uow:
            user = await uow.users.get(user_id) or principal.user
            sessions = await uow.sessions.list_live(user_id, now, used_since=self._policy.idle_cutoff(now))
            totp = await uow.factors.get_totp_for_update(user_id)
            recovery_codes_left = await uow.factors.count_recovery_codes(user_id)
            passkeys = await uow.factors.list_passkeys(user_id)
            identities = await uow.providers.list_identities(user_id)
            events = await uow.audit.list_for_account(user_id, now - EXPORTED_AUDIT_PERIOD, EXPORTED_AUDIT_EVENTS)
        return {
            "exportedAt": now.isoformat(),
            "profile": {
                "id": str(user.id),
                "email": user.email,
                "emailVerified": user.email_verified,
                "firstName": user.first_name,
                "lastName": user.last_name,
                "hasPassword": user.password_hash is not None,
                "createdAt": _time(user.created_at),
            },
            "sessions": [
                {
                    "id": str(session.id),
                    "current": session.id == principal.session_id,
                    "createdAt": _time(session.created_at),
                    "lastUsedAt": _time(session.last_used_at),
                    "expiresAt": _time(session.expires_at),
                    "signedInAt": _time(session.auth_time),
                    "signedInWith": session.amr.split(),
                    "clientIp": session.client_ip,
                    "userAgent": session.user_agent,
                }
                for session in sessions
            ],
            "secondFactors": {
                "authenticatorApp": (
                    {"createdAt": _time(totp.created_at), "confirmedAt": _time(totp.confirmed_at)} if totp else None
                ),
                "recoveryCodesLeft": recovery_codes_left,
            },
            "passkeys": [
                {
                    "name": passkey.name,
                    "createdAt": _time(passkey.created_at),
                    "lastUsedAt": _time(passkey.last_used_at),
                    "synced": passkey.synced,
                }
                for passkey in passkeys
            ],
            "providerIdentities": [
                {
                    "provider": identity.provider,
                    "subject": identity.subject,
                    "email": identity.email,
                    "linkedAt": _time(identity.created_at),
                    "lastUsedAt": _time(identity.last_used_at),
                }
                for identity in identities
            ],
            "auditEvents": {
                "since": _time(now - EXPORTED_AUDIT_PERIOD),
                "events": [
                    {
                        "type": event.type.value,
                        "occurredAt": _time(event.occurred_at),
                        "clientIp": event.client_ip,
                        "userAgent": event.user_agent,
                        "detail": event.detail,
                    }
                    for event in events
                ],
            },
        }
