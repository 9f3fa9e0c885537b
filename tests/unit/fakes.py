"""In-memory stand-ins for the ports of ``domain/ports.py``: small real classes, no mocks.

``FakeDatabase`` holds the committed state. Each ``FakeUnitOfWork`` works on a deep
copy of it and writes the copy back only on ``commit``, so leaving ``async with``
without committing discards every change, as the real transaction does. The
repositories hand out copies too: a service that changes an entity and forgets to
``save`` it changes nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Self, TypeVar

from domain.entities import MailKind, OutboxBacklog, email_key
from domain.errors import DeliveryFailed, EmailAlreadyTaken
from domain.rate_limiting import CounterRefused, ThrottleState, hit

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timedelta
    from types import TracebackType
    from uuid import UUID

    from domain.entities import (
        AuditEvent,
        OtpChallenge,
        OtpPurpose,
        OutboxItem,
        OutgoingMail,
        Passkey,
        PasskeyChallenge,
        ProviderEmailConfirmation,
        ProviderIdentity,
        ProviderLinkToken,
        ProviderSignInCode,
        ProviderSignInState,
        RefreshTokenRecord,
        Session,
        SignInTicket,
        TotpFactor,
        User,
    )
    from domain.ports import (
        AuditRepository,
        FactorRepository,
        OtpRepository,
        OutboxRepository,
        PasswordHasher,
        ProviderSignInRepository,
        SessionRepository,
        ThrottleRepository,
        UnitOfWork,
        UserRepository,
    )
    from domain.rate_limiting import CounterHit, Rate

T = TypeVar("T")


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class FakeMailer:
    """Records every mail; ``failing = True`` makes it refuse as a dead SMTP server would."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []
        self.message_ids: list[str | None] = []
        self.failing = False

    async def send(self, mail: OutgoingMail, message_id: str | None = None) -> None:
        if self.failing:
            raise DeliveryFailed
        self.sent.append(mail)
        self.message_ids.append(message_id)

    def sent_to(self, address: str) -> list[OutgoingMail]:
        return [mail for mail in self.sent if mail.to == address]

    def codes_sent_to(self, address: str, kind: MailKind = MailKind.VERIFY_EMAIL) -> list[str]:
        """Every code of ``kind`` mailed to ``address``, oldest first."""
        return [mail.code for mail in self.sent_to(address) if mail.kind == kind and mail.code is not None]

    def last_code_sent_to(self, address: str, kind: MailKind = MailKind.VERIFY_EMAIL) -> str:
        codes = self.codes_sent_to(address, kind)
        assert codes, f"no {kind.value} code was mailed to {address}"
        return codes[-1]

    def kinds_sent_to(self, address: str) -> list[MailKind]:
        return [mail.kind for mail in self.sent_to(address)]


class MailedAtCommit:
    """An ``Outbox`` that hands each mail to the mailer's list the moment its unit of work commits
    (and never if it rolls back): the services' tests read what was mailed without a dispatcher.
    The sealed outbox and its dispatcher are tested on their own (test_mail_dispatcher.py)."""

    def __init__(self, mailer: FakeMailer) -> None:
        self._mailer = mailer

    async def queue(self, uow: UnitOfWork, mail: OutgoingMail) -> None:
        uow.after_commit(lambda: self._mailer.sent.append(mail))


@dataclass
class FakeState:
    users: dict[UUID, User] = field(default_factory=dict)
    challenges: dict[UUID, OtpChallenge] = field(default_factory=dict)
    sessions: dict[UUID, Session] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshTokenRecord] = field(default_factory=dict)
    throttles: dict[str, ThrottleState] = field(default_factory=dict)
    audit_events: list[AuditEvent] = field(default_factory=list)
    totp_factors: dict[UUID, TotpFactor] = field(default_factory=dict)
    recovery_codes: dict[UUID, frozenset[str]] = field(default_factory=dict)
    tickets: dict[str, SignInTicket] = field(default_factory=dict)
    passkeys: dict[bytes, Passkey] = field(default_factory=dict)
    passkey_challenges: dict[str, PasskeyChallenge] = field(default_factory=dict)
    provider_states: dict[str, ProviderSignInState] = field(default_factory=dict)
    provider_codes: dict[str, ProviderSignInCode] = field(default_factory=dict)
    provider_identities: dict[tuple[str, str], ProviderIdentity] = field(default_factory=dict)
    provider_link_tokens: dict[str, ProviderLinkToken] = field(default_factory=dict)
    provider_email_confirmations: dict[str, ProviderEmailConfirmation] = field(default_factory=dict)
    spent_id_tokens: dict[str, datetime] = field(default_factory=dict)
    outbox: dict[UUID, OutboxItem] = field(default_factory=dict)
    outbox_claimants: dict[UUID, str] = field(default_factory=dict)
    known_devices: dict[tuple[UUID, str], datetime] = field(default_factory=dict)


class FakeUserRepository:
    def __init__(self, state: FakeState, database: FakeDatabase) -> None:
        self._state = state
        self._database = database

    async def get(self, user_id: UUID) -> User | None:
        return copy.copy(self._state.users.get(user_id))

    async def get_by_email(self, email: str) -> User | None:
        if self._database.stale_email_lookups > 0:
            self._database.stale_email_lookups -= 1
            return None
        key = email_key(email)
        for user in self._state.users.values():
            if user.email_key == key:
                return copy.copy(user)
        return None

    async def add(self, user: User) -> None:
        if any(existing.email_key == user.email_key for existing in self._state.users.values()):
            raise EmailAlreadyTaken
        self._state.users[user.id] = copy.copy(user)

    async def get_for_update(self, user_id: UUID) -> User | None:
        return await self.get(user_id)

    async def get_signed_in(self, user_id: UUID, session_id: UUID, now: datetime, used_since: datetime) -> User | None:
        session = self._state.sessions.get(session_id)
        if session is None or session.user_id != user_id or not _live(session, now, used_since):
            return None
        return await self.get(user_id)

    async def save(self, user: User) -> None:
        assert user.id in self._state.users, "save() of a user that was never added"
        if any(other.email_key == user.email_key and other.id != user.id for other in self._state.users.values()):
            raise EmailAlreadyTaken
        self._state.users[user.id] = copy.copy(user)

    async def delete(self, user_id: UUID) -> None:
        state = self._state
        sessions = {sid for sid, session in state.sessions.items() if session.user_id == user_id}
        state.refresh_tokens = {h: t for h, t in state.refresh_tokens.items() if t.session_id not in sessions}
        state.sessions = {sid: s for sid, s in state.sessions.items() if sid not in sessions}
        state.challenges = {cid: c for cid, c in state.challenges.items() if c.user_id != user_id}
        state.totp_factors.pop(user_id, None)
        state.recovery_codes.pop(user_id, None)
        state.tickets = {h: t for h, t in state.tickets.items() if t.user_id != user_id}
        state.passkeys = {c: p for c, p in state.passkeys.items() if p.user_id != user_id}
        state.users.pop(user_id, None)


def _live(session: Session, now: datetime, used_since: datetime) -> bool:
    return session.revoked_at is None and session.expires_at > now and session.last_used_at > used_since


class FakeOtpRepository:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    def _pending(self, user_id: UUID, purpose: OtpPurpose) -> OtpChallenge | None:
        for challenge in self._state.challenges.values():
            if challenge.user_id == user_id and challenge.purpose == purpose:
                return challenge
        return None

    async def replace(self, challenge: OtpChallenge) -> None:
        if (earlier := self._pending(challenge.user_id, challenge.purpose)) is not None:
            del self._state.challenges[earlier.id]
        self._state.challenges[challenge.id] = copy.copy(challenge)

    async def get_for_update(self, user_id: UUID, purpose: OtpPurpose) -> OtpChallenge | None:
        return copy.copy(self._pending(user_id, purpose))

    async def delete(self, challenge: OtpChallenge) -> None:
        self._state.challenges.pop(challenge.id, None)

    async def get_by_link_for_update(self, link_hash: str) -> OtpChallenge | None:
        found = next((c for c in self._state.challenges.values() if c.link_hash == link_hash), None)
        return copy.copy(found)


class FakeSessionRepository:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def add(self, session: Session) -> None:
        self._state.sessions[session.id] = copy.copy(session)

    async def get_for_update(self, session_id: UUID) -> Session | None:
        return copy.copy(self._state.sessions.get(session_id))

    async def save(self, session: Session) -> None:
        if session.id in self._state.sessions:
            self._state.sessions[session.id] = copy.copy(session)

    async def list_live(self, user_id: UUID, now: datetime, used_since: datetime) -> list[Session]:
        live = [s for s in self._state.sessions.values() if s.user_id == user_id and _live(s, now, used_since)]
        live.sort(key=lambda s: (s.last_used_at, s.created_at), reverse=True)
        return [copy.copy(session) for session in live]

    async def revoke_all(self, user_id: UUID, now: datetime, used_since: datetime, keep: UUID | None = None) -> int:
        ended = 0
        for session in list(self._state.sessions.values()):
            if session.user_id == user_id and _live(session, now, used_since) and session.id != keep:
                # replaced, never changed in place: units of work share the stored entities
                self._state.sessions[session.id] = dataclasses.replace(session, revoked_at=now)
                ended += 1
        return ended

    async def known_devices(self, user_id: UUID, seen_since: datetime) -> set[str] | None:
        mine = {device: seen for (owner, device), seen in self._state.known_devices.items() if owner == user_id}
        return {device for device, seen in mine.items() if seen >= seen_since} if mine else None

    async def remember_device(self, user_id: UUID, device_hash: str, now: datetime) -> None:
        self._state.known_devices[(user_id, device_hash)] = now

    def _count(self, counting: CounterHit | None) -> None:
        if counting is None:
            return
        after, wait = hit(self._state.throttles.get(counting.key, ThrottleState()), counting.rate, counting.now)
        if wait is not None:
            raise CounterRefused(wait)
        self._state.throttles[counting.key] = after

    async def rotate(
        self, session: Session, successor: RefreshTokenRecord, event: AuditEvent, counting: CounterHit | None = None
    ) -> bool:
        self._count(counting)
        stored = self._state.sessions.get(session.id)
        if stored is None or stored.revoked_at is not None or stored.generation != successor.generation - 1:
            return False
        await self.save(session)
        await self.add_token(successor)
        self._state.audit_events.append(event)
        return True

    async def add_token(self, record: RefreshTokenRecord) -> None:
        assert record.token_hash not in self._state.refresh_tokens, "refresh token issued twice"
        self._state.refresh_tokens[record.token_hash] = copy.copy(record)

    async def find_token(self, token_hash: str) -> RefreshTokenRecord | None:
        return copy.copy(self._state.refresh_tokens.get(token_hash))

    async def find_for_rotation(
        self, token_hash: str, counting: CounterHit | None = None
    ) -> tuple[RefreshTokenRecord, Session, User] | None:
        self._count(counting)
        record = self._state.refresh_tokens.get(token_hash)
        session = self._state.sessions.get(record.session_id) if record else None
        user = self._state.users.get(session.user_id) if session else None
        if record is None or session is None or user is None:
            return None
        return copy.copy(record), copy.copy(session), copy.copy(user)


class FakeThrottleRepository:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def update(self, key: str, change: Callable[[ThrottleState], tuple[ThrottleState, T]]) -> T:
        after, outcome = change(self._state.throttles.get(key, ThrottleState()))
        self._state.throttles[key] = after
        return outcome

    async def hit(self, key: str, rate: Rate, now: datetime) -> timedelta | None:
        return await self.update(key, lambda state: hit(state, rate, now))

    async def clear(self, key: str) -> None:
        self._state.throttles.pop(key, None)


class FakeAuditRepository:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def add(self, event: AuditEvent) -> None:
        self._state.audit_events.append(event)

    async def list_for_account(self, user_id: UUID, since: datetime, limit: int) -> list[AuditEvent]:
        mine = [event for event in self._state.audit_events if event.user_id == user_id and event.occurred_at >= since]
        return sorted(mine, key=lambda event: event.occurred_at, reverse=True)[:limit]

    async def forget_account(self, user_id: UUID) -> None:
        self._state.audit_events = [
            dataclasses.replace(event, user_id=None, client_ip=None, user_agent=None)
            if event.user_id == user_id
            else event
            for event in self._state.audit_events
        ]


class FakeFactorRepository:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def get_totp_for_update(self, user_id: UUID) -> TotpFactor | None:
        return copy.copy(self._state.totp_factors.get(user_id))

    async def put_totp(self, factor: TotpFactor) -> None:
        self._state.totp_factors[factor.user_id] = copy.copy(factor)

    async def delete_totp(self, user_id: UUID) -> None:
        self._state.totp_factors.pop(user_id, None)

    async def has_confirmed_totp(self, user_id: UUID) -> bool:
        factor = self._state.totp_factors.get(user_id)
        return factor is not None and factor.confirmed_at is not None

    async def replace_recovery_codes(self, user_id: UUID, code_hashes: list[str]) -> None:
        self._state.recovery_codes[user_id] = frozenset(code_hashes)

    async def use_recovery_code(self, user_id: UUID, code_hash: str) -> bool:
        codes = self._state.recovery_codes.get(user_id, frozenset())
        self._state.recovery_codes[user_id] = codes - {code_hash}
        return code_hash in codes

    async def count_recovery_codes(self, user_id: UUID) -> int:
        return len(self._state.recovery_codes.get(user_id, ()))

    async def add_ticket(self, ticket: SignInTicket) -> None:
        self._state.tickets[ticket.ticket_hash] = copy.copy(ticket)

    async def get_ticket_for_update(self, ticket_hash: str) -> SignInTicket | None:
        return copy.copy(self._state.tickets.get(ticket_hash))

    async def save_ticket(self, ticket: SignInTicket) -> None:
        if ticket.ticket_hash in self._state.tickets:
            self._state.tickets[ticket.ticket_hash] = copy.copy(ticket)

    async def delete_ticket(self, ticket_hash: str) -> None:
        self._state.tickets.pop(ticket_hash, None)

    async def add_passkey(self, passkey: Passkey) -> None:
        self._state.passkeys[passkey.credential_id] = copy.copy(passkey)

    async def get_passkey_for_update(self, credential_id: bytes) -> Passkey | None:
        return copy.copy(self._state.passkeys.get(credential_id))

    async def list_passkeys(self, user_id: UUID) -> list[Passkey]:
        mine = [copy.copy(p) for p in self._state.passkeys.values() if p.user_id == user_id]
        return sorted(mine, key=lambda passkey: passkey.created_at)

    async def save_passkey(self, passkey: Passkey) -> None:
        if passkey.credential_id in self._state.passkeys:
            self._state.passkeys[passkey.credential_id] = copy.copy(passkey)

    async def delete_passkey(self, user_id: UUID, credential_id: bytes) -> bool:
        passkey = self._state.passkeys.get(credential_id)
        if passkey is None or passkey.user_id != user_id:
            return False
        del self._state.passkeys[credential_id]
        return True

    async def add_challenge(self, challenge: PasskeyChallenge) -> None:
        self._state.passkey_challenges[challenge.challenge_hash] = copy.copy(challenge)

    async def take_challenge(self, challenge_hash: str) -> PasskeyChallenge | None:
        return self._state.passkey_challenges.pop(challenge_hash, None)


class FakeProviderSignInRepository:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def add_state(self, state: ProviderSignInState) -> None:
        self._state.provider_states[state.state_hash] = state

    async def take_state(self, state_hash: str) -> ProviderSignInState | None:
        return self._state.provider_states.pop(state_hash, None)

    async def add_code(self, code: ProviderSignInCode) -> None:
        self._state.provider_codes[code.code_hash] = code

    async def take_code(self, code_hash: str) -> ProviderSignInCode | None:
        return self._state.provider_codes.pop(code_hash, None)

    async def get_identity(self, provider: str, subject: str) -> ProviderIdentity | None:
        return copy.copy(self._state.provider_identities.get((provider, subject)))

    async def add_identity(self, identity: ProviderIdentity) -> None:
        if (identity.provider, identity.subject) in self._state.provider_identities:
            raise EmailAlreadyTaken
        self._state.provider_identities[(identity.provider, identity.subject)] = copy.copy(identity)

    async def save_identity(self, identity: ProviderIdentity) -> None:
        self._state.provider_identities[(identity.provider, identity.subject)] = copy.copy(identity)

    async def list_identities(self, user_id: UUID) -> list[ProviderIdentity]:
        mine = [i for i in self._state.provider_identities.values() if i.user_id == user_id]
        return [copy.copy(identity) for identity in sorted(mine, key=lambda identity: identity.created_at)]

    async def delete_identity(self, user_id: UUID, provider: str) -> bool:
        keys = [k for k, i in self._state.provider_identities.items() if i.user_id == user_id and k[0] == provider]
        for key in keys:
            del self._state.provider_identities[key]
        return bool(keys)

    async def add_link_token(self, token: ProviderLinkToken) -> None:
        self._state.provider_link_tokens[token.token_hash] = token

    async def take_link_token(self, token_hash: str) -> ProviderLinkToken | None:
        return self._state.provider_link_tokens.pop(token_hash, None)

    async def spend_id_token(self, token_hash: str, expires_at: datetime) -> bool:
        if token_hash in self._state.spent_id_tokens:
            return False
        self._state.spent_id_tokens[token_hash] = expires_at
        return True

    async def add_email_confirmation(self, confirmation: ProviderEmailConfirmation) -> None:
        self._state.provider_email_confirmations[confirmation.ticket_hash] = copy.copy(confirmation)

    async def get_email_confirmation_for_update(self, ticket_hash: str) -> ProviderEmailConfirmation | None:
        return copy.copy(self._state.provider_email_confirmations.get(ticket_hash))

    async def save_email_confirmation(self, confirmation: ProviderEmailConfirmation) -> None:
        self._state.provider_email_confirmations[confirmation.ticket_hash] = copy.copy(confirmation)

    async def delete_email_confirmation(self, ticket_hash: str) -> None:
        self._state.provider_email_confirmations.pop(ticket_hash, None)


class FakeOutboxRepository:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def add(self, item: OutboxItem) -> None:
        self._state.outbox[item.id] = replace(item)

    async def claim(self, now: datetime, lease_until: datetime, limit: int, claimant: str) -> list[OutboxItem]:
        due = sorted(
            (
                item
                for item in self._state.outbox.values()
                if item.dead_at is None and item.sent_at is None and item.next_attempt_at <= now
            ),
            key=lambda item: item.next_attempt_at,
        )[:limit]
        claimed = [replace(item, attempts=item.attempts + 1, next_attempt_at=lease_until) for item in due]
        for item in claimed:
            self._state.outbox[item.id] = item
            self._state.outbox_claimants[item.id] = claimant
        return [replace(item) for item in claimed]

    async def delivered(self, item_id: UUID, now: datetime) -> None:
        if item_id in self._state.outbox:
            self._state.outbox[item_id] = replace(self._state.outbox[item_id], sent_at=now, sealed_mail=b"")

    async def postpone(self, item_id: UUID, claimant: str, next_attempt_at: datetime, error: str) -> None:
        if item_id in self._state.outbox and self._state.outbox_claimants.get(item_id) == claimant:
            self._state.outbox[item_id] = replace(
                self._state.outbox[item_id], next_attempt_at=next_attempt_at, last_error=error
            )

    async def bury(self, item_id: UUID, claimant: str, now: datetime, error: str) -> None:
        if item_id in self._state.outbox and self._state.outbox_claimants.get(item_id) == claimant:
            self._state.outbox[item_id] = replace(self._state.outbox[item_id], dead_at=now, last_error=error)

    async def list_dead(self) -> list[OutboxItem]:
        dead = [replace(item) for item in self._state.outbox.values() if item.dead_at is not None]
        return sorted(dead, key=lambda item: item.created_at)

    async def revive(self, item_id: UUID | None, now: datetime) -> int:
        revived = [item for item in await self.list_dead() if item_id is None or item.id == item_id]
        for item in revived:
            self._state.outbox[item.id] = replace(item, dead_at=None, attempts=0, next_attempt_at=now, last_error=None)
        return len(revived)

    async def backlog(self) -> OutboxBacklog:
        queued = [item for item in self._state.outbox.values() if item.dead_at is None and item.sent_at is None]
        dead = sum(item.dead_at is not None for item in self._state.outbox.values())
        oldest = min((item.created_at for item in queued), default=None)
        return OutboxBacklog(queued=len(queued), oldest_queued_at=oldest, dead=dead)


class FakeDatabase:
    """The committed state, shared by every unit of work; tests read it to see what was written."""

    def __init__(self) -> None:
        self.state = FakeState()
        # The next lookups by e-mail miss, like one that ran just before a concurrent
        # request committed the same address.
        self.stale_email_lookups = 0

    def unit_of_work(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def statements(self) -> FakeStatements:
        return FakeStatements(self)

    def user_by_email(self, email: str) -> User | None:
        """The committed account itself, not a copy: changing it is a write another request committed."""
        key = email_key(email)
        return next((user for user in self.state.users.values() if user.email_key == key), None)

    def audit_events(self) -> list[str]:
        """The committed audit log, as event names in order."""
        return [event.type.value for event in self.state.audit_events]

    def delete_user(self, user_id: UUID) -> None:
        """What an administrator deleting the account leaves behind for the services to meet."""
        del self.state.users[user_id]


def _snapshot(state: FakeState) -> FakeState:
    """Copies of the collections, sharing the entities: repositories copy an entity on every
    read and write and never change a stored one in place, so sharing them is safe, and far
    cheaper than copying the whole database for every unit of work."""
    return FakeState(
        users=dict(state.users),
        challenges=dict(state.challenges),
        sessions=dict(state.sessions),
        refresh_tokens=dict(state.refresh_tokens),
        throttles=dict(state.throttles),
        audit_events=list(state.audit_events),
        totp_factors=dict(state.totp_factors),
        recovery_codes=dict(state.recovery_codes),
        tickets=dict(state.tickets),
        passkeys=dict(state.passkeys),
        passkey_challenges=dict(state.passkey_challenges),
        provider_states=dict(state.provider_states),
        provider_codes=dict(state.provider_codes),
        provider_identities=dict(state.provider_identities),
        provider_link_tokens=dict(state.provider_link_tokens),
        provider_email_confirmations=dict(state.provider_email_confirmations),
        spent_id_tokens=dict(state.spent_id_tokens),
        outbox=dict(state.outbox),
        outbox_claimants=dict(state.outbox_claimants),
        known_devices=dict(state.known_devices),
    )


class FakeUnitOfWork:
    users: UserRepository
    otps: OtpRepository
    sessions: SessionRepository
    throttles: ThrottleRepository
    audit: AuditRepository
    factors: FactorRepository
    providers: ProviderSignInRepository
    outbox: OutboxRepository

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database
        self._working: FakeState | None = None
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, action: Callable[[], None]) -> None:
        self._after_commit.append(action)

    async def __aenter__(self) -> Self:
        self._on(_snapshot(self._database.state))
        return self

    def _on(self, working: FakeState) -> None:
        self._working = working
        self.users = FakeUserRepository(self._working, self._database)
        self.otps = FakeOtpRepository(self._working)
        self.sessions = FakeSessionRepository(self._working)
        self.throttles = FakeThrottleRepository(self._working)
        self.audit = FakeAuditRepository(self._working)
        self.factors = FakeFactorRepository(self._working)
        self.providers = FakeProviderSignInRepository(self._working)
        self.outbox = FakeOutboxRepository(self._working)

    async def commit(self) -> None:
        assert self._working is not None, "commit() outside `async with`"
        self._database.state = _snapshot(self._working)
        for action in self._after_commit:
            action()
        self._after_commit.clear()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Whatever was not committed is dropped with the working copy.
        self._working = None


class FakePasswordHasher:
    """A hasher with the real one's contract and none of its cost: the services under test
    only need a hash that matches its password and no other (bcrypt is tested on its own,
    in test_passwords.py and the integration tests)."""

    PREFIX = "fake-sha256$"

    async def hash(self, password: str) -> str:
        return self.PREFIX + hashlib.sha256(password.encode("utf-8")).hexdigest()

    async def verify(self, password: str, password_hash: str) -> bool:
        return hmac.compare_digest(await self.hash(password), password_hash)

    async def verify_dummy(self, password: str) -> None:
        await self.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(self.PREFIX)


class CountingPasswordHasher:
    """Wraps a real hasher and counts each kind of bcrypt run."""

    def __init__(self, inner: PasswordHasher) -> None:
        self._inner = inner
        self.hashes = 0
        self.verifications = 0
        self.dummy_verifications = 0

    async def hash(self, password: str) -> str:
        self.hashes += 1
        return await self._inner.hash(password)

    async def verify(self, password: str, password_hash: str) -> bool:
        self.verifications += 1
        return await self._inner.verify(password, password_hash)

    async def verify_dummy(self, password: str) -> None:
        self.dummy_verifications += 1
        await self._inner.verify_dummy(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._inner.needs_rehash(password_hash)


class FakeStatements(FakeUnitOfWork):
    """Single statements outside a transaction: each change is committed as it is made; it cannot commit."""

    async def __aenter__(self) -> Self:
        self._on(self._database.state)
        return self

    async def commit(self) -> None:
        raise TypeError("single statements cannot commit")
