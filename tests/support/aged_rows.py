"""Rows in every table of the gateway, some past their time and some not, for the tests of
retention (``domain.retention``): seeded through the ORM relative to a given moment, each
one named by what it stands for, with the tables it is expected to be gone from or kept in."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from persistence.models import (
    AuditEventRow,
    KnownDeviceRow,
    OtpChallengeRow,
    OutboxRow,
    PasskeyChallengeRow,
    PasskeyRow,
    ProviderEmailConfirmationRow,
    ProviderLinkTokenRow,
    ProviderSignInCodeRow,
    ProviderSignInStateRow,
    RecoveryCodeRow,
    RefreshTokenRow,
    SessionRow,
    SignInTicketRow,
    SpentIdTokenRow,
    ThrottleRow,
    TotpFactorRow,
    UserRow,
)

if TYPE_CHECKING:
    from tortoise.models import Model

TABLES: dict[str, type[Model]] = {
    "users": UserRow,
    "refresh_tokens": RefreshTokenRow,
    "sessions": SessionRow,
    "otp_challenges": OtpChallengeRow,
    "sign_in_tickets": SignInTicketRow,
    "passkey_challenges": PasskeyChallengeRow,
    "provider_sign_in_states": ProviderSignInStateRow,
    "provider_sign_in_codes": ProviderSignInCodeRow,
    "provider_link_tokens": ProviderLinkTokenRow,
    "provider_email_confirmations": ProviderEmailConfirmationRow,
    "spent_id_tokens": SpentIdTokenRow,
    "throttles": ThrottleRow,
    "audit_events": AuditEventRow,
    "totp_factors": TotpFactorRow,
    "recovery_codes": RecoveryCodeRow,
    "passkeys": PasskeyRow,
    "outbox": OutboxRow,
    "known_devices": KnownDeviceRow,
}

# What one run with the default policies (sessions kept 7 days after they end, audit events
# 365 days, sign-ups 7 days and a day's margin, idle sessions 14 days, sent outbox items 7 days,
# dead ones 30, known devices 180 days unseen) deletes of ``AgedRows``.
# The children of the stale sign-up are counted with it, under users.
DELETED = {
    "users": 1,
    "refresh_tokens": 4,
    "sessions": 3,
    "otp_challenges": 2,
    "sign_in_tickets": 1,
    "passkey_challenges": 1,
    "provider_sign_in_states": 1,
    "provider_sign_in_codes": 1,
    "provider_link_tokens": 1,
    "provider_email_confirmations": 1,
    "spent_id_tokens": 1,
    "throttles": 2,
    "audit_events": 2,
    "outbox_sent": 1,
    "outbox_dead": 1,
    "known_devices": 1,
}

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


async def keys_in(table: str) -> set[str]:
    """The primary keys (as text) of the rows ``table`` holds now."""
    model = TABLES[table]
    return {str(key) for key in await model.all().values_list(model._meta.pk_attr, flat=True)}


class AgedRows:
    """Seeds rows of every table around ``now``; ``gone`` and ``kept`` say, per table, which
    keys a run at ``now`` (or up to an hour later) must delete and which it must leave."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.gone: dict[str, set[str]] = defaultdict(set)
        self.kept: dict[str, set[str]] = defaultdict(set)
        self.names: dict[str, str] = {}  # key -> what the row stands for, for failure messages
        self.of_stale_sign_up: dict[str, set[str]] = defaultdict(set)  # what hangs off the sign-up to purge

    def _expect(self, table: str, key: object, name: str, *, gone: bool) -> str:
        text = str(key)
        (self.gone if gone else self.kept)[table].add(text)
        self.names[text] = name
        if name.startswith("the stale sign-up's"):
            self.of_stale_sign_up[table].add(text)
        return text

    async def seed(self) -> None:
        now = self.now
        ann = await self._user("verified account, signed up long ago", verified=True, created_at=now - 1000 * DAY)
        bob = await self._user("unconfirmed sign-up of yesterday", verified=False, created_at=now - DAY)
        cat = await self._user(
            "unconfirmed sign-up just past its 7 days: within the day's margin",
            verified=False,
            created_at=now - 7 * DAY - 2 * HOUR,
        )
        dan = await self._user("unconfirmed sign-up of 9 days ago", verified=False, created_at=now - 9 * DAY, gone=True)
        await self._sessions(ann)
        await self._codes(ann, bob, cat, dan)
        await self._tickets_and_challenges(ann, dan)
        await self._provider_sign_ins(ann)
        await self._throttles()
        await self._audit_events(ann, dan)
        await self._factors(ann, dan)
        await self._outbox()
        eve = await self._user(
            "verified account that has not signed in for a year", verified=True, created_at=now - 900 * DAY
        )
        await self._devices(ann, eve)

    async def _user(self, name: str, *, verified: bool, created_at: datetime, gone: bool = False) -> uuid.UUID:
        user_id = uuid.uuid4()
        await UserRow.create(
            id=user_id,
            email=f"{user_id.hex[:12]}@example.com",
            email_key=f"{user_id.hex[:12]}@example.com",
            password_hash="$2b$04$" + "x" * 53,
            email_verified=verified,
            created_at=created_at,
        )
        self._expect("users", user_id, name, gone=gone)
        return user_id

    async def _session(
        self,
        user_id: uuid.UUID,
        name: str,
        *,
        last_used_at: datetime,
        expires_at: datetime,
        revoked_at: datetime | None = None,
        tokens: list[datetime | None],
        gone: bool,
    ) -> None:
        session_id = uuid.uuid4()
        await SessionRow.create(
            id=session_id,
            user_id=user_id,
            family_seed="ab" * 32,
            generation=len(tokens),
            created_at=min(last_used_at, expires_at - 30 * DAY),
            last_used_at=last_used_at,
            expires_at=expires_at,
            revoked_at=revoked_at,
            client_ip="192.0.2.7",
            user_agent="Browser/1.0",
        )
        self._expect("sessions", session_id, name, gone=gone)
        for generation, spent_at in enumerate(tokens, start=1):
            token_hash = uuid.uuid4().hex * 2
            await RefreshTokenRow.create(
                token_hash=token_hash,
                session_id=session_id,
                generation=generation,
                issued_at=last_used_at,
                spent_at=spent_at,
            )
            self._expect("refresh_tokens", token_hash, f"token {generation} of the {name}", gone=gone)

    async def _sessions(self, user_id: uuid.UUID) -> None:
        now = self.now
        await self._session(
            user_id,
            "live session, its spent tokens kept to recognise a copied one",
            last_used_at=now - HOUR,
            expires_at=now + 20 * DAY,
            tokens=[now - 9 * DAY, now - 5 * DAY, None],
            gone=False,
        )
        await self._session(
            user_id,
            "session signed out 8 days ago",
            last_used_at=now - 9 * DAY,
            expires_at=now + 10 * DAY,
            revoked_at=now - 8 * DAY,
            tokens=[now - 9 * DAY, None],
            gone=True,
        )
        await self._session(
            user_id,
            "session signed out 6 days ago",
            last_used_at=now - 6 * DAY,
            expires_at=now + 10 * DAY,
            revoked_at=now - 6 * DAY,
            tokens=[None],
            gone=False,
        )
        await self._session(
            user_id,
            "session past its absolute lifetime 8 days ago",
            last_used_at=now - 9 * DAY,
            expires_at=now - 8 * DAY,
            tokens=[None],
            gone=True,
        )
        await self._session(
            user_id,
            "session past its absolute lifetime 6 days ago",
            last_used_at=now - 7 * DAY,
            expires_at=now - 6 * DAY,
            tokens=[None],
            gone=False,
        )
        await self._session(
            user_id,
            "session idle for 22 days (ended 8 days ago)",
            last_used_at=now - 22 * DAY,
            expires_at=now + 8 * DAY,
            tokens=[None],
            gone=True,
        )
        await self._session(
            user_id,
            "session idle for 20 days (ended 6 days ago)",
            last_used_at=now - 20 * DAY,
            expires_at=now + 10 * DAY,
            tokens=[None],
            gone=False,
        )

    async def _code(self, user_id: uuid.UUID, purpose: str, name: str, *, expires_at: datetime, gone: bool) -> None:
        code_id = uuid.uuid4()
        await OtpChallengeRow.create(
            id=code_id,
            user_id=user_id,
            purpose=purpose,
            code_hmac="c" * 64,
            expires_at=expires_at,
            created_at=expires_at - timedelta(minutes=10),
        )
        self._expect("otp_challenges", code_id, name, gone=gone)

    async def _codes(self, ann: uuid.UUID, bob: uuid.UUID, cat: uuid.UUID, dan: uuid.UUID) -> None:
        now = self.now
        await self._code(ann, "reset_password", "reset code expired 2 days ago", expires_at=now - 2 * DAY, gone=True)
        await self._code(
            ann, "change_email", "address-change code expired 2 hours ago", expires_at=now - 2 * HOUR, gone=False
        )
        await self._code(bob, "verify_email", "live sign-up code", expires_at=now + HOUR, gone=False)
        await self._code(cat, "verify_email", "sign-up code expired 7 days ago", expires_at=now - 7 * DAY, gone=True)
        await self._code(dan, "verify_email", "the stale sign-up's code", expires_at=now + HOUR, gone=True)

    async def _ticket(self, user_id: uuid.UUID, name: str, *, expires_at: datetime, gone: bool) -> None:
        ticket_hash = uuid.uuid4().hex * 2
        await SignInTicketRow.create(ticket_hash=ticket_hash, user_id=user_id, expires_at=expires_at)
        self._expect("sign_in_tickets", ticket_hash, name, gone=gone)

    async def _challenge(self, user_id: uuid.UUID | None, name: str, *, expires_at: datetime, gone: bool) -> None:
        challenge_hash = uuid.uuid4().hex * 2
        purpose = "register" if user_id else "sign_in"
        await PasskeyChallengeRow.create(
            challenge_hash=challenge_hash, purpose=purpose, expires_at=expires_at, user_id=user_id
        )
        self._expect("passkey_challenges", challenge_hash, name, gone=gone)

    async def _tickets_and_challenges(self, ann: uuid.UUID, dan: uuid.UUID) -> None:
        now = self.now
        await self._ticket(ann, "sign-in ticket expired a minute ago", expires_at=now - timedelta(minutes=1), gone=True)
        await self._ticket(ann, "live sign-in ticket", expires_at=now + HOUR, gone=False)
        await self._ticket(dan, "the stale sign-up's ticket", expires_at=now + HOUR, gone=True)
        await self._challenge(
            None, "passkey challenge expired a second ago", expires_at=now - timedelta(seconds=1), gone=True
        )
        await self._challenge(ann, "live passkey challenge", expires_at=now + HOUR, gone=False)
        await self._challenge(dan, "the stale sign-up's passkey challenge", expires_at=now + HOUR, gone=True)

    async def _provider_sign_ins(self, ann: uuid.UUID) -> None:
        now = self.now
        for name, expires_at, gone in (
            ("provider sign-in expired a second ago", now - timedelta(seconds=1), True),
            ("provider sign-in still under way", now + HOUR, False),
        ):
            state_hash, code_hash = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
            await ProviderSignInStateRow.create(
                state_hash=state_hash,
                provider="company-sso",
                browser_hash="b" * 64,
                nonce_hash="n" * 64,
                code_verifier="v" * 64,
                return_url="https://app.example.com/signed-in",
                expires_at=expires_at,
            )
            self._expect("provider_sign_in_states", state_hash, f"{name}: its state", gone=gone)
            await ProviderSignInCodeRow.create(
                code_hash=code_hash, provider="company-sso", subject="248289761001", expires_at=expires_at
            )
            self._expect("provider_sign_in_codes", code_hash, f"{name}: its one-time code", gone=gone)
            token_hash = uuid.uuid4().hex * 2
            await ProviderLinkTokenRow.create(
                token_hash=token_hash,
                provider="company-sso",
                subject="248289761001",
                user_id=ann,
                expires_at=expires_at,
            )
            self._expect("provider_link_tokens", token_hash, f"{name}: its link token", gone=gone)
            ticket_hash = uuid.uuid4().hex * 2
            await ProviderEmailConfirmationRow.create(
                ticket_hash=ticket_hash,
                provider="company-sso",
                subject="248289761002",
                email="new@example.com",
                code_hmac="c" * 64,
                expires_at=expires_at,
            )
            self._expect("provider_email_confirmations", ticket_hash, f"{name}: its address's code", gone=gone)
            id_token_hash = uuid.uuid4().hex * 2
            await SpentIdTokenRow.create(token_hash=id_token_hash, expires_at=expires_at)
            self._expect("spent_id_tokens", id_token_hash, f"{name}: a spent ID token", gone=gone)

    async def _throttle(self, key: str, name: str, *, gone: bool, **state: Any) -> None:
        await ThrottleRow.create(key=key, **state)
        self._expect("throttles", key, name, gone=gone)

    async def _throttles(self) -> None:
        now = self.now
        await self._throttle(
            "a" * 64,
            "rate counter past its window",
            marked_at=now - timedelta(seconds=1),
            expires_at=now - timedelta(seconds=1),
            gone=True,
        )
        await self._throttle(
            "b" * 64, "rate counter within its window", marked_at=now + HOUR, expires_at=now + HOUR, gone=False
        )
        await self._throttle(
            "c" * 64,
            "locked account (100 failures, 200 days ago)",
            count=100,
            marked_at=now - 200 * DAY,
            expires_at=None,
            gone=False,
        )
        await self._throttle(
            "d" * 64,
            "failure streak of 10 days ago, still remembered",
            count=7,
            marked_at=now - 10 * DAY,
            expires_at=now + 20 * DAY,
            gone=False,
        )
        await self._throttle(
            "e" * 64,
            "code tries of a code long gone",
            count=3,
            marked_at=now - 2 * DAY,
            expires_at=now - HOUR,
            gone=True,
        )

    async def _event(self, user_id: uuid.UUID | None, name: str, *, occurred_at: datetime, gone: bool) -> int:
        row = await AuditEventRow.create(
            occurred_at=occurred_at, event="login_succeeded", user_id=user_id, client_ip="192.0.2.7", user_agent="UA/1"
        )
        self._expect("audit_events", row.id, name, gone=gone)
        return int(row.id)

    async def _audit_events(self, ann: uuid.UUID, dan: uuid.UUID) -> None:
        now = self.now
        await self._event(ann, "audit event of 400 days ago", occurred_at=now - 400 * DAY, gone=True)
        await self._event(None, "audit event of 366 days ago", occurred_at=now - 366 * DAY, gone=True)
        await self._event(ann, "audit event of 300 days ago", occurred_at=now - 300 * DAY, gone=False)
        self.stale_sign_up_event = await self._event(
            dan, "the stale sign-up's audit event", occurred_at=now - 9 * DAY, gone=False
        )

    async def _factors(self, ann: uuid.UUID, dan: uuid.UUID) -> None:
        for user_id, gone in ((ann, False), (dan, True)):
            whose = "the stale sign-up's" if gone else "the verified account's"
            totp = await TotpFactorRow.create(user_id=user_id, sealed_secret=b"sealed", created_at=self.now - DAY)
            self._expect("totp_factors", totp.id, f"{whose} authenticator app", gone=gone)
            code = await RecoveryCodeRow.create(user_id=user_id, code_hash=uuid.uuid4().hex * 2)
            self._expect("recovery_codes", code.id, f"{whose} recovery code", gone=gone)
            credential_id = uuid.uuid4().hex
            await PasskeyRow.create(
                credential_id=credential_id, user_id=user_id, public_key=b"cose", name="Key", created_at=self.now - DAY
            )
            self._expect("passkeys", credential_id, f"{whose} passkey", gone=gone)

    async def _outbox_item(self, name: str, *, gone: bool, **state: Any) -> None:
        item_id = uuid.uuid4()
        created_at = state.pop("created_at", self.now - 40 * DAY)
        await OutboxRow.create(
            id=item_id,
            kind="verify_email",
            sealed_mail=b"sealed",
            created_at=created_at,
            next_attempt_at=created_at,
            **state,
        )
        self._expect("outbox", item_id, name, gone=gone)

    async def _outbox(self) -> None:
        now = self.now
        await self._outbox_item("mail sent 8 days ago", sent_at=now - 8 * DAY, attempts=1, gone=True)
        await self._outbox_item("mail sent 6 days ago", sent_at=now - 6 * DAY, attempts=1, gone=False)
        await self._outbox_item("mail dead for 31 days", dead_at=now - 31 * DAY, attempts=8, gone=True)
        await self._outbox_item("mail dead for 29 days: still for outbox retry", dead_at=now - 29 * DAY, gone=False)
        await self._outbox_item("mail queued 400 days ago, still retried", created_at=now - 400 * DAY, gone=False)

    async def _device(self, user_id: uuid.UUID, name: str, *, last_seen_at: datetime, gone: bool) -> None:
        row = await KnownDeviceRow.create(user_id=user_id, device_hash=uuid.uuid4().hex * 2, last_seen_at=last_seen_at)
        self._expect("known_devices", row.id, name, gone=gone)

    async def _devices(self, ann: uuid.UUID, eve: uuid.UUID) -> None:
        now = self.now
        await self._device(ann, "device seen yesterday", last_seen_at=now - DAY, gone=False)
        await self._device(ann, "device seen 179 days ago", last_seen_at=now - 179 * DAY, gone=False)
        await self._device(ann, "device unseen for 181 days", last_seen_at=now - 181 * DAY, gone=True)
        await self._device(
            eve,
            "device of an account unseen for 300 days: kept for its next sign-in",
            last_seen_at=now - 300 * DAY,
            gone=False,
        )

    async def problems(self) -> list[str]:
        """What a run left that it should have deleted, and what it deleted that it should have left."""
        found = []
        for table in TABLES:
            present = await keys_in(table)
            found += [f"{table}: {self.names[key]} is still there" for key in sorted(self.gone[table] & present)]
            found += [f"{table}: {self.names[key]} was deleted" for key in sorted(self.kept[table] - present)]
        return found
