"""Plain data the services work on; repositories turn rows into these."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime  # noqa: TC003 - dataclass fields are resolved at runtime
from uuid import UUID  # noqa: TC003


@dataclass
class User:
    id: UUID
    email: str
    password_hash: str
    first_name: str | None
    last_name: str | None
    email_verified: bool
    created_at: datetime

    @property
    def email_key(self) -> str:
        return email_key(self.email)


def email_key(email: str) -> str:
    """The case-insensitive identity of an address: one account per key."""
    return email.casefold()


@dataclass(frozen=True)
class Client:
    """Who is calling, as far as the transport can tell: for rate limits and the audit log."""

    ip: str | None = None
    user_agent: str | None = None


UNKNOWN_CLIENT = Client()


class OtpPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"


@dataclass
class OtpChallenge:
    """A one-time code waiting to be entered; only its HMAC is kept."""

    id: UUID
    user_id: UUID
    purpose: OtpPurpose
    code_hmac: str
    expires_at: datetime
    attempts: int
    created_at: datetime


@dataclass
class Session:
    """A signed-in device: one refresh-token family.

    Each refresh token of the family is derived from ``family_seed`` (with a
    server-held key) and the ``generation`` it was issued at, so the current
    token can be recomputed but never read back from the database.
    """

    id: UUID
    user_id: UUID
    family_seed: bytes
    generation: int
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


@dataclass
class RefreshTokenRecord:
    """What the database knows of one issued refresh token: its SHA-256 hash."""

    token_hash: str
    session_id: UUID
    generation: int
    issued_at: datetime
    spent_at: datetime | None = None


@dataclass(frozen=True)
class SignedIn:
    """The outcome of every operation that signs someone in."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    session_id: UUID


@dataclass(frozen=True)
class OtpSent:
    email: str
    expires_at: datetime


@dataclass(frozen=True)
class AccessClaims:
    """The verified content of an access token."""

    user_id: UUID
    session_id: UUID
    token_id: str
    expires_at: int


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str


class AuditEventType(enum.StrEnum):
    REGISTERED = "registered"
    REGISTERED_AGAIN = "registered_again"  # the address already had a verified account
    CODE_SENT = "code_sent"
    VERIFY_SUCCEEDED = "verify_succeeded"
    VERIFY_FAILED = "verify_failed"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    TOKEN_REFRESHED = "token_refreshed"  # noqa: S105 - an event name, not a secret
    REFRESH_TOKEN_REUSED = "refresh_token_reused"  # noqa: S105 - the same; the session was revoked
    RATE_LIMITED = "rate_limited"
    ACCOUNT_LOCKED = "account_locked"


@dataclass(frozen=True)
class AuditEvent:
    """One line of the audit log. Never a password, a code, a token or an e-mail address."""

    type: AuditEventType
    occurred_at: datetime
    user_id: UUID | None
    client_ip: str | None
    user_agent: str | None
    detail: str | None = None
