"""What is past its time: the rules of retention, free of any storage.

Every table of the gateway and what becomes of its rows (docs/operations.md, "Retention"):

- ``users``: a sign-up never confirmed is deleted a day after ``AuthPolicy.account`` stopped
  counting it as an account (``unverified_account_lifetime`` from its last ``register``), with
  everything that hangs off it; its audit events lose the account id, IP address and user
  agent, as when a person deletes an account. A confirmed account is never deleted here.
- ``sessions``, with their ``refresh_tokens``: deleted once they have ended (signed out,
  revoked, past their absolute lifetime or idle too long) for longer than
  ``ended_session_grace``. The spent tokens of a live session stay: they are how a copied
  token is recognised and its session revoked.
- ``otp_challenges``: deleted a day after the code expired; until then the right code, too
  late, is still answered "expired, ask for a new one" rather than "wrong code".
- ``sign_in_tickets``, ``passkey_challenges``, ``provider_sign_in_states``,
  ``provider_sign_in_codes``, ``provider_link_tokens``, ``provider_email_confirmations``: deleted once expired; an
  expired one is answered exactly as a missing one (an e-mail confirmation's right code, too late, as expired).
- ``spent_id_tokens``: deleted once the ID token would no longer pass the checks; until then
  it is refused as given before.
- ``provider_identities``: the account's own; they go with it.
- ``throttles``: deleted once ``expires_at`` has passed: from then on the counter decides
  nothing (``ThrottleState``). A locked account's row has no ``expires_at`` and stays until
  an operator unlocks it or a password reset ends the streak.
- ``audit_events``: deleted ``audit_lifetime`` after they happened; ``None`` keeps them forever.
- ``outbox``: a delivered item keeps its kind, times and attempts (its sealed mail is emptied
  on delivery) for ``outbox_sent_lifetime`` after it was sent; a dead one for
  ``outbox_dead_lifetime`` after it died, so an operator can still ``outbox retry`` it. A
  queued item is never deleted here.
- ``known_devices``: deleted once unseen for ``known_device_lifetime``, from then on a sign-in
  from that device counts as new again (it already does once unseen for
  ``AuthPolicy.known_device_memory``). Only of accounts that signed in from some device within
  that time: an account with no sign-in at all for that long keeps its devices, because with
  none left its next sign-in, from wherever, would count as its first and be told of to nobody.
- ``totp_factors``, ``recovery_codes``, ``passkeys``: the account's own; they go with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.policy import AuthPolicy

# How long a code past its expiry is still told apart from a wrong one, and how far past
# its lifetime an unconfirmed sign-up is left alone, so that a purge never meets a
# sign-up being renewed at the very moment it expires.
AFTER_EXPIRY = timedelta(days=1)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long what has ended is kept; ``server.py`` fills it from the settings."""

    ended_session_grace: timedelta = timedelta(days=7)
    audit_lifetime: timedelta | None = timedelta(days=365)  # None: audit events are kept forever
    outbox_sent_lifetime: timedelta = timedelta(days=7)
    outbox_dead_lifetime: timedelta = timedelta(days=30)  # long enough for an operator to retry it
    known_device_lifetime: timedelta = timedelta(days=180)
    batch_size: int = 1000  # rows per DELETE: a long backlog goes in short transactions

    def cutoffs(self, now: datetime, auth: AuthPolicy) -> RetentionCutoffs:
        """What is past its time at ``now``: rows dated before these instants."""
        return RetentionCutoffs(
            unverified_created_before=now - auth.unverified_account_lifetime - AFTER_EXPIRY,
            sessions_ended_before=now - self.ended_session_grace,
            sessions_used_before=now - auth.refresh_idle_lifetime - self.ended_session_grace,
            codes_expired_before=now - AFTER_EXPIRY,
            challenges_expired_before=now,
            throttles_expired_before=now,
            audit_before=None if self.audit_lifetime is None else now - self.audit_lifetime,
            outbox_sent_before=now - self.outbox_sent_lifetime,
            outbox_dead_before=now - self.outbox_dead_lifetime,
            devices_seen_before=now - self.known_device_lifetime,
        )


@dataclass(frozen=True)
class RetentionCutoffs:
    """One run's instants: a row dated before its table's cutoff is deleted."""

    # never-confirmed accounts (re)registered before this
    unverified_created_before: datetime
    # sessions revoked or expired before this, and their refresh tokens ...
    sessions_ended_before: datetime
    # ... and sessions last used before this (idle lifetime and grace both over)
    sessions_used_before: datetime
    # one-time codes that expired before this
    codes_expired_before: datetime
    # sign-in tickets, passkey challenges and provider sign-in states and codes that expired before this
    challenges_expired_before: datetime
    # rate-limit and lockout counters whose expires_at is before this (never one without)
    throttles_expired_before: datetime
    # audit events that happened before this; None: none
    audit_before: datetime | None
    # outbox items delivered before this
    outbox_sent_before: datetime
    # outbox items dead since before this
    outbox_dead_before: datetime
    # known devices last seen before this (of accounts seen since on another)
    devices_seen_before: datetime
