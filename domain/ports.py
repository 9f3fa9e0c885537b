"""What the services need from the outside world, as Protocols.

The adapters live in ``persistence`` (database) and ``mail`` (delivery);
unit tests use small in-memory fakes of the same shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractAsyncContextManager
    from datetime import datetime, timedelta
    from types import TracebackType
    from typing import Self
    from uuid import UUID

    from domain.entities import (
        AccessClaims,
        AuditEvent,
        NewPasskey,
        OtpChallenge,
        OtpPurpose,
        OutboxBacklog,
        OutboxItem,
        OutgoingMail,
        Passkey,
        PasskeyAssertion,
        PasskeyChallenge,
        ProviderAssertion,
        ProviderEmailConfirmation,
        ProviderIdentity,
        ProviderLinkToken,
        ProviderSignInCode,
        ProviderSignInState,
        ProviderTraits,
        RefreshTokenRecord,
        Session,
        SignInProvider,
        SignInTicket,
        TotpFactor,
        User,
        WebhookDelivery,
    )
    from domain.rate_limiting import CounterHit, Rate, ThrottleState

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str) -> bool: ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of one ``verify`` so an unknown account costs the same."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class AccessTokenCodec(Protocol):
    """Issues and checks access tokens (``security.access_tokens`` signs them as JWTs)."""

    @property
    def lifetime_seconds(self) -> int: ...

    def issue(
        self,
        user_id: UUID,
        session_id: UUID,
        now: datetime,
        amr: Sequence[str] = ("pwd",),
        auth_time: datetime | None = None,
    ) -> str:
        """An access token of the session; ``amr`` and ``auth_time`` (when the session
        signed in, ``now`` if not given) say how and when it authenticated."""
        ...

    def decode(self, token: str, now: datetime) -> AccessClaims:
        """The verified claims; raise ``InvalidAccessToken`` for a malformed, forged or expired token."""
        ...

    def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set of the public keys that verify access tokens (empty for a shared secret)."""
        ...


class SecretSealer(Protocol):
    """Encrypts secrets the gateway must read back (authenticator-app secrets) with a server
    key, so a copy of the database alone does not reveal them (``security.sealing``)."""

    def seal(self, secret: bytes, context: bytes) -> bytes:
        """``secret`` encrypted and authenticated; ``context`` (say, the account id) is bound to it."""
        ...

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """The secret ``seal`` was given; raises ``ValueError`` if ``sealed`` or ``context`` was changed."""
        ...


class TotpAlgorithm(Protocol):
    """Time-based one-time passwords, RFC 6238 (``security.totp``): 6 digits, 30-second steps."""

    def new_secret(self) -> str:
        """A new random secret, base32."""
        ...

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        """The otpauth:// URI an authenticator app reads from a QR code."""
        ...

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        """The time step (the current one, or one either side) whose code is ``code``, if any."""
        ...


class PasskeyCeremonies(Protocol):
    """WebAuthn (``security.passkeys``): options for the browser, checks of its answers.
    Every method that reads an answer raises ``InvalidPasskey`` when it is not acceptable."""

    @property
    def enabled(self) -> bool:
        """Whether passkeys are configured (a relying-party ID and at least one origin)."""
        ...

    def registration_options(self, user_handle: bytes, user_name: str, exclude: list[bytes]) -> tuple[str, bytes]:
        """The options for ``navigator.credentials.create`` (JSON) and their challenge."""
        ...

    def authentication_options(self, allow: list[bytes] | None = None) -> tuple[str, bytes]:
        """The options for ``navigator.credentials.get`` (JSON) and their challenge: for the
        credentials ``allow`` names, or (``None``) any discoverable passkey of the site."""
        ...

    def challenge_of(self, credential_json: str) -> bytes: ...

    def credential_id_of(self, credential_json: str) -> tuple[bytes, bytes | None]: ...

    def verify_registration(self, credential_json: str, challenge: bytes) -> NewPasskey: ...

    def verify_authentication(self, credential_json: str, challenge: bytes, public_key: bytes) -> PasskeyAssertion: ...


class Mailer(Protocol):
    async def send(self, mail: OutgoingMail, message_id: str | None = None) -> None:
        """Deliver ``mail`` or raise ``DeliveryFailed``.

        ``message_id``: a token the same for every attempt at this mail, made into its
        Message-ID header so receivers can drop a copy delivered twice (a new one if ``None``).
        """
        ...


class WebhookSender(Protocol):
    async def send(self, delivery: WebhookDelivery) -> None:
        """POST ``delivery`` to its endpoint, signed (Standard Webhooks), or raise ``DeliveryFailed``
        (no 2xx answer, a redirect, a timeout, an endpoint no longer configured)."""
        ...


class Outbox(Protocol):
    """Where services leave mail: in their own unit of work, delivered once it commits."""

    async def queue(self, uow: UnitOfWork, mail: OutgoingMail) -> None:
        """Write ``mail`` to the outbox in ``uow``'s transaction: sent if and only if it commits."""
        ...


class OutboxRepository(Protocol):
    """The mail outbox. Claims are safe between processes: an item one claimed is skipped by
    the others until its lease runs out."""

    async def add(self, item: OutboxItem) -> None: ...

    async def claim(self, now: datetime, lease_until: datetime, limit: int, claimant: str) -> list[OutboxItem]:
        """Up to ``limit`` live items due at ``now``, oldest first, each with one more attempt
        counted and its next attempt moved to ``lease_until``; items locked by another
        transaction are skipped, not waited for. Committed by the caller."""
        ...

    async def delivered(self, item_id: UUID, now: datetime) -> None:
        """Mark the item sent at ``now`` and forget its sealed mail; the retention job deletes it later."""
        ...

    async def postpone(self, item_id: UUID, claimant: str, next_attempt_at: datetime, error: str) -> None:
        """Try again at ``next_attempt_at``, unless another claimant took the item meanwhile."""
        ...

    async def bury(self, item_id: UUID, claimant: str, now: datetime, error: str) -> None:
        """Mark the item dead (no more attempts), unless another claimant took it meanwhile."""
        ...

    async def list_dead(self) -> list[OutboxItem]:
        """Dead items, oldest first."""
        ...

    async def revive(self, item_id: UUID | None, now: datetime) -> int:
        """Queue a dead item again (every dead one for ``None``) with its attempts reset; how many."""
        ...

    async def backlog(self) -> OutboxBacklog: ...


class UserRepository(Protocol):
    async def get(self, user_id: UUID) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """Find the account of ``email``, ignoring case."""
        ...

    async def add(self, user: User) -> None:
        """Insert ``user``; raise ``EmailAlreadyTaken`` if the address exists."""
        ...

    async def get_for_update(self, user_id: UUID) -> User | None:
        """The account, locked until the transaction ends."""
        ...

    async def get_signed_in(self, user_id: UUID, session_id: UUID, now: datetime, used_since: datetime) -> User | None:
        """The account, if ``session_id`` is one of its sessions and still live.

        Live: not revoked, ``expires_at`` after ``now`` and ``last_used_at`` after
        ``used_since`` (``Session.is_live``). One round trip: this runs on every signed-in request.
        """
        ...

    async def save(self, user: User) -> None:
        """Store ``user``'s changes; raise ``EmailAlreadyTaken`` if its new address is another account's."""
        ...

    async def delete(self, user_id: UUID) -> None:
        """Remove the account with its codes, sessions and refresh tokens."""
        ...


class OtpRepository(Protocol):
    async def replace(self, challenge: OtpChallenge) -> None:
        """Store ``challenge``, voiding any earlier code of the same user and purpose, atomically:
        concurrent replacements leave exactly one code and never fail."""
        ...

    async def get_for_update(self, user_id: UUID, purpose: OtpPurpose) -> OtpChallenge | None:
        """The pending code, locked until the transaction ends."""
        ...

    async def delete(self, challenge: OtpChallenge) -> None: ...

    async def get_by_link_for_update(self, link_hash: str) -> OtpChallenge | None:
        """The pending code whose sign-in link's token has the SHA-256 ``link_hash``, locked."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def get_for_update(self, session_id: UUID) -> Session | None:
        """The session, locked so that rotations of one family run one at a time."""
        ...

    async def save(self, session: Session) -> None: ...

    async def list_live(self, user_id: UUID, now: datetime, used_since: datetime) -> list[Session]:
        """The account's live sessions (see ``UserRepository.get_signed_in``), most recently used first."""
        ...

    async def revoke_all(self, user_id: UUID, now: datetime, used_since: datetime, keep: UUID | None = None) -> int:
        """Revoke every live session of the account but ``keep``; returns how many."""
        ...

    async def known_devices(self, user_id: UUID, seen_since: datetime) -> set[str] | None:
        """The device hashes of the account's sign-ins since ``seen_since``; ``None`` when the
        account has never had one recorded (its first sign-in)."""
        ...

    async def remember_device(self, user_id: UUID, device_hash: str, now: datetime) -> None:
        """Record (or refresh) that the account signed in from ``device_hash`` at ``now``."""
        ...

    async def add_token(self, record: RefreshTokenRecord) -> None: ...

    async def rotate(
        self, session: Session, successor: RefreshTokenRecord, event: AuditEvent, counting: CounterHit | None = None
    ) -> bool:
        """Move ``session`` on to ``successor`` (its generation, last use and client), record
        ``successor`` and write ``event`` to the audit log: all of it, atomic on its own (one
        statement where the database allows), or nothing when the stored session is no longer
        the one ``successor`` follows (another rotation moved it on, or it was revoked).
        Whether it was written.

        ``counting``: a counter's hit that comes first, in the same statement where the
        database allows (``ThrottleRepository.hit``; counted even if the session moved on).

        Raises:
            CounterRefused: the hit was refused; nothing was written.
        """
        ...

    async def find_token(self, token_hash: str) -> RefreshTokenRecord | None: ...

    async def find_for_rotation(
        self, token_hash: str, counting: CounterHit | None = None
    ) -> tuple[RefreshTokenRecord, Session, User] | None:
        """The refresh token's record, its session and the session's account, as committed
        now: one query, nothing locked (``rotate`` checks that the session has not moved on
        since). ``None`` for a token this gateway does not know.

        ``counting``: a counter's hit made with the read, in the same statement where the
        database allows (``ThrottleRepository.hit``).

        Raises:
            CounterRefused: the hit was refused (whatever the read found).
        """
        ...


class ThrottleRepository(Protocol):
    """Counters of attempts, shared by every gateway process that uses the database."""

    async def update(self, key: str, change: Callable[[ThrottleState], tuple[ThrottleState, T]]) -> T:
        """Apply ``change`` to the state of ``key`` under a lock and store what it returns.

        A key never seen before starts as ``ThrottleState()``. Until the unit of work
        commits, no other transaction can read or change the key.
        """
        ...

    async def hit(self, key: str, rate: Rate, now: datetime) -> timedelta | None:
        """Count one attempt at ``rate`` for ``key``, as ``domain.rate_limiting.hit`` decides it.

        Atomic on its own, so it may run outside a transaction: ``None`` when the
        attempt is admitted (and counted), else how long to wait (and nothing counted).
        """
        ...

    async def clear(self, key: str) -> None: ...


class AuditRepository(Protocol):
    async def add(self, event: AuditEvent) -> None:
        """Keep ``event``; it is also logged as one structured line once committed."""
        ...

    async def list_for_account(self, user_id: UUID, since: datetime, limit: int) -> list[AuditEvent]:
        """The account's events since ``since``, newest first, at most ``limit``."""
        ...

    async def forget_account(self, user_id: UUID) -> None:
        """Blank the account id, IP address and user agent of the account's events (it is being deleted)."""
        ...


class FactorRepository(Protocol):
    """Second factors: the authenticator app, recovery codes, and the tickets of sign-ins
    waiting for their second step."""

    async def get_totp_for_update(self, user_id: UUID) -> TotpFactor | None:
        """The account's authenticator app (confirmed or not), locked until the transaction ends."""
        ...

    async def put_totp(self, factor: TotpFactor) -> None:
        """Store ``factor`` as the account's only authenticator app, replacing any other."""
        ...

    async def delete_totp(self, user_id: UUID) -> None: ...

    async def has_confirmed_totp(self, user_id: UUID) -> bool: ...

    async def replace_recovery_codes(self, user_id: UUID, code_hashes: list[str]) -> None:
        """Make ``code_hashes`` the account's recovery codes, voiding every earlier one."""
        ...

    async def use_recovery_code(self, user_id: UUID, code_hash: str) -> bool:
        """Delete the account's code of ``code_hash``; whether there was one (at most one caller wins)."""
        ...

    async def count_recovery_codes(self, user_id: UUID) -> int: ...

    async def add_ticket(self, ticket: SignInTicket) -> None: ...

    async def get_ticket_for_update(self, ticket_hash: str) -> SignInTicket | None: ...

    async def save_ticket(self, ticket: SignInTicket) -> None: ...

    async def delete_ticket(self, ticket_hash: str) -> None: ...

    async def add_passkey(self, passkey: Passkey) -> None: ...

    async def get_passkey_for_update(self, credential_id: bytes) -> Passkey | None: ...

    async def list_passkeys(self, user_id: UUID) -> list[Passkey]:
        """The account's passkeys, oldest first."""
        ...

    async def save_passkey(self, passkey: Passkey) -> None: ...

    async def delete_passkey(self, user_id: UUID, credential_id: bytes) -> bool:
        """Delete the account's passkey; whether there was one."""
        ...

    async def add_challenge(self, challenge: PasskeyChallenge) -> None: ...

    async def take_challenge(self, challenge_hash: str) -> PasskeyChallenge | None:
        """Delete and return the challenge of ``challenge_hash``: only one caller gets it."""
        ...


class IdentityProviders(Protocol):
    """The OpenID Connect providers the operator set up (``oidc.providers``): discovery, the
    authorization URL, and the code exchange with every check of the ID token."""

    def known(self, provider: str) -> bool: ...

    def listed(self) -> tuple[SignInProvider, ...]:
        """Every provider set up, in the operator's order: ids and display names, no secret."""
        ...

    def links_verified_email(self, provider: str) -> bool:
        """Whether ``provider`` is set up to link an identity with a verified address to the
        account that has it without asking (``auto_link_verified_email``)."""
        ...

    def traits(self, provider: str) -> ProviderTraits:
        """How ``provider``'s callback comes back (a redirect or a form POST), and whether it
        answers with an ID token that carries the nonce."""
        ...

    async def authorization_url(self, provider: str, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser: the provider's authorization endpoint, with the code flow,
        PKCE S256 of ``code_verifier``, ``state`` and ``nonce``.

        Raises:
            ProviderUnavailable: its discovery document could not be had in time.
        """
        ...

    async def redeem(
        self, provider: str, code: str, code_verifier: str, posted_user: str | None = None
    ) -> ProviderAssertion:
        """Exchange ``code`` for the ID token and check it: signature by the provider's JWKS,
        ``iss``, ``aud``, ``azp`` when present, ``exp``, ``iat``. The nonce is the caller's to compare.
        A provider without ID tokens (GitHub) is asked for the person with the access token instead.
        ``posted_user`` is what the callback posted as ``user`` (Apple, on a first sign-in: the name).

        Raises:
            ProviderUnavailable: the provider could not be reached in time, or answered nonsense.
            ProviderRefused: it refused the code, or the ID token failed a check.
        """
        ...

    async def verify_id_token(self, provider: str, id_token: str) -> ProviderAssertion:
        """Check an ID token a client got from ``provider`` itself (a native app, One Tap): the
        same checks as ``redeem``'s, ``aud`` and ``azp`` being our client id or one of the
        provider's ``id_token_audiences``. The nonce is the caller's to compare.

        Raises:
            ProviderUnavailable: the provider's discovery document or JWK Set could not be had.
            ProviderRefused: the ID token failed a check.
        """
        ...


class ProviderSignInRepository(Protocol):
    """Provider sign-ins under way, their one-time codes, and the identities linked to accounts."""

    async def add_state(self, state: ProviderSignInState) -> None: ...

    async def take_state(self, state_hash: str) -> ProviderSignInState | None:
        """Delete and return the sign-in of ``state_hash``: only one caller gets it."""
        ...

    async def add_code(self, code: ProviderSignInCode) -> None: ...

    async def take_code(self, code_hash: str) -> ProviderSignInCode | None:
        """Delete and return the one-time code of ``code_hash``: only one caller gets it."""
        ...

    async def get_identity(self, provider: str, subject: str) -> ProviderIdentity | None: ...

    async def add_identity(self, identity: ProviderIdentity) -> None:
        """Insert ``identity``; raise ``EmailAlreadyTaken`` if a concurrent request linked it first."""
        ...

    async def save_identity(self, identity: ProviderIdentity) -> None: ...

    async def list_identities(self, user_id: UUID) -> list[ProviderIdentity]:
        """The account's identities, oldest link first."""
        ...

    async def delete_identity(self, user_id: UUID, provider: str) -> bool:
        """Unlink the account's identity at ``provider``; False when it had none."""
        ...

    async def add_link_token(self, token: ProviderLinkToken) -> None: ...

    async def take_link_token(self, token_hash: str) -> ProviderLinkToken | None:
        """Delete and return the link token of ``token_hash``: only one caller gets it."""
        ...

    async def spend_id_token(self, token_hash: str, expires_at: datetime) -> bool:
        """Remember the ID token of ``token_hash`` until ``expires_at``; False when it was given
        before (then the unit of work may no longer be usable: roll it back)."""
        ...

    async def add_email_confirmation(self, confirmation: ProviderEmailConfirmation) -> None: ...

    async def get_email_confirmation_for_update(self, ticket_hash: str) -> ProviderEmailConfirmation | None:
        """The confirmation of ``ticket_hash``, locked until the unit of work ends."""
        ...

    async def save_email_confirmation(self, confirmation: ProviderEmailConfirmation) -> None:
        """Write back its count of wrong codes."""
        ...

    async def delete_email_confirmation(self, ticket_hash: str) -> None: ...


class AuditObserver(Protocol):
    def observe(self, event: AuditEvent) -> None:
        """Hear of ``event`` as a service records it, before its transaction commits.

        For counting (metrics), not for keeping: the audit log is the record.
        Must not raise and must not block.
        """
        ...


class RetentionStore(Protocol):
    """Deletes rows past their time (``domain.retention``). Each ``purge_*`` call deletes at
    most ``limit`` rows in a transaction of its own and returns how many it deleted; a row
    changed meanwhile so that it is no longer past its time is left alone."""

    def exclusive_run(self) -> AbstractAsyncContextManager[bool]:
        """Held for one run of the job: ``True`` when this process may purge now, ``False``
        when another one is purging the same database (the run is skipped)."""
        ...

    async def purge_unverified_accounts(self, created_before: datetime, limit: int) -> int:
        """Delete accounts never confirmed and (re)registered before ``created_before``, with
        their codes, sessions, tokens, tickets, challenges and factors; their audit events
        keep neither the account id nor the IP address or user agent. Returns how many accounts."""
        ...

    async def purge_refresh_tokens_of_ended_sessions(
        self, ended_before: datetime, used_before: datetime, limit: int
    ) -> int:
        """Delete refresh tokens of sessions revoked or expired before ``ended_before``, or
        last used before ``used_before``."""
        ...

    async def purge_ended_sessions(self, ended_before: datetime, used_before: datetime, limit: int) -> int:
        """Delete those sessions (and any refresh token of theirs still there)."""
        ...

    async def purge_expired_codes(self, expired_before: datetime, limit: int) -> int: ...

    async def purge_expired_sign_in_tickets(self, expired_before: datetime, limit: int) -> int: ...

    async def purge_expired_passkey_challenges(self, expired_before: datetime, limit: int) -> int: ...

    async def purge_expired_provider_states(self, expired_before: datetime, limit: int) -> int: ...

    async def purge_expired_provider_codes(self, expired_before: datetime, limit: int) -> int: ...

    async def purge_expired_provider_link_tokens(self, expired_before: datetime, limit: int) -> int: ...

    async def purge_expired_provider_email_confirmations(self, expired_before: datetime, limit: int) -> int: ...

    async def purge_spent_id_tokens(self, expired_before: datetime, limit: int) -> int:
        """Forget ID tokens that would no longer pass the checks anyway."""
        ...

    async def purge_expired_throttles(self, expired_before: datetime, limit: int) -> int:
        """Delete counters whose ``expires_at`` is before ``expired_before``; never one without."""
        ...

    async def purge_audit_events(self, occurred_before: datetime, limit: int) -> int: ...

    async def purge_sent_outbox_items(self, sent_before: datetime, limit: int) -> int:
        """Delete outbox items delivered before ``sent_before``."""
        ...

    async def purge_dead_outbox_items(self, dead_before: datetime, limit: int) -> int:
        """Delete outbox items dead since before ``dead_before`` (a revived one is no longer dead)."""
        ...

    async def purge_unseen_devices(self, seen_before: datetime, limit: int) -> int:
        """Delete known devices last seen before ``seen_before``, of accounts with a device seen since."""
        ...


class UnitOfWork(Protocol):
    """One transaction: rolled back on leaving unless ``commit`` was called."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def otps(self) -> OtpRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def throttles(self) -> ThrottleRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def factors(self) -> FactorRepository: ...

    @property
    def providers(self) -> ProviderSignInRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """Call ``action`` once this transaction has committed; never if it rolls back."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
