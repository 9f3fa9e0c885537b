"""Plain data the services work on; repositories turn rows into these."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta  # noqa: TC003 - dataclass fields are resolved at runtime
from uuid import UUID  # noqa: TC003


@dataclass
class User:
    id: UUID
    email: str
    # None: the account has no password (made by a provider or e-mail code sign-in); a reset sets one
    password_hash: str | None
    first_name: str | None
    last_name: str | None
    email_verified: bool
    created_at: datetime
    # the language of the account's mails (one of the shipped ones); None: the caller's, else the default
    locale: str | None = None

    @property
    def email_key(self) -> str:
        return email_key(self.email)


# ASCII letters only: see ``email_key``.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def email_key(email: str) -> str:
    """The identity of a mailbox: one account per key.

    Two spellings share a key only when they reach the same mailbox: they differ
    in the case of ASCII letters only (mail servers ignore it; the domain arrives
    lower-cased from ``normalise_email``). Full Unicode case folding would merge
    different mailboxes (``straße`` and ``strasse``, ``ﬁ`` and ``fi``), letting
    whoever registers one spelling first receive the other's codes.
    """
    return email.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Client:
    """Who is calling, as far as the transport can tell: for rate limits and the audit log."""

    ip: str | None = None
    user_agent: str | None = None
    # the shipped language the caller's Accept-Language prefers, if it names one
    locale: str | None = None


UNKNOWN_CLIENT = Client()

USER_AGENT_MAX_LENGTH = 512


def truncated_user_agent(user_agent: str | None) -> str | None:
    """As much of a user agent as is kept (it is the caller's to make as long as they like)."""
    return user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None


class OtpPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret
    CHANGE_EMAIL = "change_email"
    SIGN_IN = "sign_in"  # passwordless sign-in by e-mail code
    CONFIRM_PROVIDER_EMAIL = "confirm_provider_email"  # the address a provider did not vouch for


@dataclass
class OtpChallenge:
    """A one-time code waiting to be entered; only its HMAC is kept.

    Wrong tries are counted per address, not here (``CodeTries``): an address
    without a code must answer them the same way.
    """

    id: UUID
    user_id: UUID
    purpose: OtpPurpose
    code_hmac: str
    expires_at: datetime
    created_at: datetime
    # CHANGE_EMAIL: the address the code was sent to, which the account moves to
    new_email: str | None = None
    # SIGN_IN with SIGN_IN_LINK_URL: the SHA-256 of the mailed link's token, which signs in as the code does
    link_hash: str | None = None


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
    # where it was last used from, for the person's list of their sessions
    client_ip: str | None = None
    user_agent: str | None = None
    # how it was signed in: RFC 8176 methods, space-separated ("pwd", "pwd otp mfa")
    amr: str = "pwd"
    # when it last proved its owner (sign-in or reauthenticate); None: at created_at
    authenticated_at: datetime | None = None

    @property
    def auth_time(self) -> datetime:
        return self.authenticated_at or self.created_at

    @property
    def with_second_factor(self) -> bool:
        return AuthMethod.MULTI_FACTOR in self.amr.split()

    def is_live(self, now: datetime, idle_lifetime: timedelta) -> bool:
        """Not revoked, and neither past its absolute lifetime nor idle for too long."""
        return self.revoked_at is None and now < self.expires_at and now < self.last_used_at + idle_lifetime


@dataclass
class RefreshTokenRecord:
    """What the database knows of one issued refresh token: its SHA-256 hash.

    A session's refresh tokens are numbered by ``generation``; only the one of the session's
    current generation may be rotated. An older one was spent: the one just before at the
    session's ``last_used_at``, when it was rotated.
    """

    token_hash: str
    session_id: UUID
    generation: int
    issued_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """The outcome of every operation that signs someone in."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    session_id: UUID
    refresh_expires_in: int  # seconds until the refresh token ends if unused (idle or absolute limit)


@dataclass(frozen=True)
class OtpSent:
    email: str
    expires_at: datetime


@dataclass(frozen=True)
class Principal:
    """Who a request speaks for: a live session of an existing account."""

    user: User
    session_id: UUID


@dataclass(frozen=True)
class AccessClaims:
    """The verified content of an access token."""

    user_id: UUID
    session_id: UUID
    token_id: str
    expires_at: int
    amr: tuple[str, ...] = ("pwd",)  # how the session signed in (RFC 8176)
    auth_time: int | None = None  # when it signed in, seconds since the epoch

    @property
    def with_second_factor(self) -> bool:
        return AuthMethod.MULTI_FACTOR in self.amr


class AuthMethod(enum.StrEnum):
    """How a session was signed in: the RFC 8176 values its access tokens carry as ``amr``."""

    PASSWORD = "pwd"  # noqa: S105 - an RFC 8176 method name, not a secret
    ONE_TIME_PASSWORD = "otp"  # noqa: S105 - a method name; an authenticator app's code (TOTP) or a recovery code
    HARDWARE_KEY = "hwk"  # a passkey bound to one device
    SOFTWARE_KEY = "swk"  # a passkey its provider syncs between devices
    USER_VERIFIED = "user"  # the authenticator verified the person (PIN, fingerprint, face)
    # Not an RFC 8176 value: signed in at an OpenID Connect provider; how is the provider's to say.
    FEDERATED = "fed"
    MULTI_FACTOR = "mfa"


PASSWORD_ONLY = (AuthMethod.PASSWORD,)
# RFC 8176 has no value for a code mailed to the address; "otp" (a one-time password) is what
# it is. No sign-in takes an authenticator app's code as its only proof, so "otp" alone means this.
EMAIL_CODE_ONLY = (AuthMethod.ONE_TIME_PASSWORD,)
WITH_SECOND_FACTOR = (AuthMethod.PASSWORD, AuthMethod.ONE_TIME_PASSWORD, AuthMethod.MULTI_FACTOR)


class SecondFactorMethod(enum.StrEnum):
    """What can complete a sign-in after the password."""

    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"
    WEBAUTHN = "webauthn"  # a passkey, as the second step after the password


@dataclass
class TotpFactor:
    """An account's authenticator app: its secret, sealed with a server key, and the last
    time step a code was accepted for (a code is never accepted twice)."""

    user_id: UUID
    sealed_secret: bytes
    created_at: datetime
    confirmed_at: datetime | None = None  # None until the first code from the app is entered
    last_step: int | None = None


@dataclass
class SignInTicket:
    """The right password of an account with a second factor: what ``completeSignIn`` needs,
    stored as the SHA-256 of the ticket handed out, single use, short-lived, with few tries."""

    ticket_hash: str
    user_id: UUID
    expires_at: datetime
    tries: int = 0
    first_factor: str = "pwd"  # the RFC 8176 method of the first step: "pwd", or "fed" (a provider)


@dataclass(frozen=True)
class MfaRequired:
    """The password was right; the sign-in completes with one of ``methods``."""

    ticket: str
    methods: tuple[SecondFactorMethod, ...]
    expires_at: datetime
    webauthn_options: str | None = None  # with WEBAUTHN: the options for navigator.credentials.get


@dataclass(frozen=True)
class TotpProvisioning:
    """What an authenticator app needs: the secret (base32) and the otpauth:// URI of its QR code."""

    secret: str
    uri: str


@dataclass
class Passkey:
    """A WebAuthn credential of an account: its public key and what the gateway has seen of it."""

    credential_id: bytes
    user_id: UUID
    public_key: bytes  # COSE
    sign_count: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    backed_up: bool = False  # synced to other devices by its provider
    synced: bool = False  # may be (backup eligible): a software key, not one device's


@dataclass(frozen=True)
class NewPasskey:
    """What a verified registration yields."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    backed_up: bool
    synced: bool


@dataclass(frozen=True)
class PasskeyAssertion:
    """What a verified authentication yields."""

    sign_count: int
    backed_up: bool


@dataclass
class PasskeyChallenge:
    """A WebAuthn challenge handed out, kept as its SHA-256 until it is answered (once) or expires."""

    challenge_hash: str
    purpose: str  # "register" or "sign_in"
    expires_at: datetime
    user_id: UUID | None = None  # the account a registration is for


@dataclass(frozen=True)
class SecondFactors:
    """An account's second factors, as its owner may see them."""

    totp: bool
    recovery_codes_left: int


class MailKind(enum.StrEnum):
    """Every message the gateway sends; each has its templates in ``mail/templates``."""

    VERIFY_EMAIL = "verify_email"  # a code that confirms a new account's address
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a message kind, not a secret; a code to set a new password
    CHANGE_EMAIL = "change_email"  # a code, sent to the new address, that confirms the change
    SIGN_IN_CODE = "sign_in_code"  # a code that signs in without the password
    ALREADY_REGISTERED = "already_registered"  # notice: someone used this address for a new account
    ADDRESS_IN_USE = "address_in_use"  # notice: another account asked to move to this address
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - notice: the password was changed or reset
    EMAIL_CHANGED = "email_changed"  # notice to the old address: the account moved to another one
    SECOND_FACTOR_ENABLED = "second_factor_enabled"  # notice: an authenticator app was set up
    SECOND_FACTOR_REMOVED = "second_factor_removed"  # notice: the authenticator app was removed
    RECOVERY_CODE_USED = "recovery_code_used"  # notice: a recovery code signed in; how many are left
    RECOVERY_CODES_REPLACED = "recovery_codes_replaced"  # notice: new recovery codes, the old ones void
    PASSKEY_ADDED = "passkey_added"  # notice: a passkey was added
    PASSKEY_REMOVED = "passkey_removed"  # notice: a passkey was removed
    PROVIDER_LINKED = "provider_linked"  # notice: a provider's identity now signs in to the account
    PROVIDER_UNLINKED = "provider_unlinked"  # notice: a provider's identity no longer does
    PROVIDER_ACCOUNT_CREATED = "provider_account_created"  # notice: a provider's sign-in made an account here
    CONFIRM_PROVIDER_EMAIL = "confirm_provider_email"  # a code that confirms the address a provider gave
    NEW_DEVICE_SIGN_IN = "new_device_sign_in"  # notice: a browser or network not seen before signed in


@dataclass(frozen=True)
class OutgoingMail:
    """What to send, not how it reads: the mail adapter renders ``kind``'s templates.

    ``code`` and ``code_lifetime_seconds`` are set for the kinds that carry a
    one-time code; ``new_email`` for ``EMAIL_CHANGED``; ``remaining`` (recovery codes
    left) for ``RECOVERY_CODE_USED``; ``provider`` (its display name) for ``PROVIDER_LINKED``,
    ``PROVIDER_UNLINKED``, ``PROVIDER_ACCOUNT_CREATED`` and ``CONFIRM_PROVIDER_EMAIL``; ``link``
    (when the gateway has SIGN_IN_LINK_URL) for ``SIGN_IN_CODE``; ``signed_in_at`` (UTC, written
    out), ``client_ip`` and ``device`` (a summary of the user agent) for ``NEW_DEVICE_SIGN_IN``;
    ``changed_at``, and ``client_ip`` and ``device`` or ``by_operator``, for every other notice
    (``domain.messages.circumstances``; a mail queued before they existed has none, and says
    neither). ``locale`` is the language the domain chose (``AuthPolicy.mail_locale``).
    """

    to: str
    kind: MailKind
    product: str
    code: str | None = None
    code_lifetime_seconds: int | None = None
    new_email: str | None = None
    remaining: int | None = None
    provider: str | None = None
    signed_in_at: str | None = None
    client_ip: str | None = None
    device: str | None = None
    # every other notice: when the change happened (UTC, written out), and from where
    # (client_ip and device) or by an operator's command (by_operator)
    changed_at: str | None = None
    by_operator: bool | None = None
    old_email: str | None = None  # EMAIL_CHANGED to the new address: the one the account left
    password_reset: bool | None = None  # PASSWORD_CHANGED: reset with a mailed code, not changed
    link: str | None = None  # SIGN_IN_CODE: the address that signs in without typing the code
    # the language to write it in; None (mails queued before languages existed): the default
    locale: str | None = None


class WebhookEventType(enum.StrEnum):
    """Every event the gateway announces to webhook endpoints (docs/webhooks.md)."""

    USER_CREATED = "user.created"  # a sign-up's address was verified, or a provider's sign-in made the account
    USER_VERIFIED = "user.verified"  # the account's address is proven (with a sign-up's user.created)
    USER_PROFILE_UPDATED = "user.profile_updated"
    USER_EMAIL_CHANGED = "user.email_changed"
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 - an event name, not a secret
    USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 - an event name, not a secret
    USER_DELETED = "user.deleted"
    USER_FACTOR_ADDED = "user.factor_added"  # an authenticator app or a passkey
    USER_FACTOR_REMOVED = "user.factor_removed"
    USER_IDENTITY_LINKED = "user.identity_linked"  # a provider's identity signs in to the account
    USER_IDENTITY_UNLINKED = "user.identity_unlinked"
    SESSION_CREATED = "session.created"  # someone signed in
    SESSION_REVOKED = "session.revoked"  # signed out, revoked, or ended for a reused refresh token


@dataclass(frozen=True)
class WebhookEndpoint:
    """An endpoint the operator set up (WEBHOOK_ENDPOINTS): what the domain needs of it, which
    events it wants (``None``: all). Its address and secret stay with the sender."""

    id: str
    events: frozenset[WebhookEventType] | None = None

    def wants(self, event_type: WebhookEventType) -> bool:
        return self.events is None or event_type in self.events


@dataclass(frozen=True)
class WebhookDelivery:
    """One event for one endpoint: ``body`` is the JSON sent, ``webhook_id`` the same on every
    attempt (and for every endpoint the event goes to), so a receiver can drop a second copy."""

    endpoint: str
    webhook_id: str
    body: str


@dataclass
class OutboxItem:
    """A mail or a webhook delivery waiting in the outbox, written in the transaction of the
    change that causes it.

    ``sealed_mail`` is the ``OutgoingMail`` (address, code and all), or for a webhook (``endpoint``
    set, ``kind`` the event's type) the ``WebhookDelivery``, encrypted under a key of
    the server secret, bound to ``id``; only ``kind`` and ``endpoint`` are readable in the table. The dispatcher
    tries it when ``next_attempt_at`` has come: a claim moves that time on by the claim's lease,
    so an item whose sender died is tried again once the lease has run out. ``dead_at`` is set
    once ``attempts`` reached the maximum; an operator may queue it again. ``sent_at`` is set
    once it was delivered (its ``sealed_mail`` emptied): it stays until the retention job deletes it.
    """

    id: UUID
    kind: MailKind | WebhookEventType
    sealed_mail: bytes
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    last_error: str | None = None
    dead_at: datetime | None = None
    endpoint: str | None = None  # the webhook endpoint's id; ``None`` for a mail
    sent_at: datetime | None = None  # delivered: kept, its sealed mail emptied, until the retention job

    @property
    def message_id(self) -> str:
        """The same for every attempt, so a receiver can drop a second copy (delivery is at least once)."""
        return self.id.hex


@dataclass(frozen=True)
class OutboxBacklog:
    """What the outbox holds now: items still to deliver, the oldest one's creation, dead items."""

    queued: int = 0
    oldest_queued_at: datetime | None = None
    dead: int = 0


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
    LOGGED_OUT = "logged_out"  # detail: how many sessions ended
    SESSION_REVOKED = "session_revoked"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105 - an event name
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an event name
    PASSWORD_RESET_FAILED = "password_reset_failed"  # noqa: S105 - an event name; detail: why
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
    PASSWORD_CHECK_FAILED = "password_check_failed"  # noqa: S105 - a signed-in person gave a wrong password
    PROFILE_UPDATED = "profile_updated"
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    EMAIL_CHANGED = "email_changed"
    EMAIL_CHANGE_FAILED = "email_change_failed"  # detail: why
    ACCOUNT_DELETED = "account_deleted"
    SECOND_FACTOR_ENABLED = "second_factor_enabled"
    SECOND_FACTOR_REMOVED = "second_factor_removed"
    SECOND_FACTOR_FAILED = "second_factor_failed"  # detail: which method
    RECOVERY_CODE_USED = "recovery_code_used"  # detail: how many are left
    RECOVERY_CODES_REPLACED = "recovery_codes_replaced"
    REAUTHENTICATED = "reauthenticated"  # detail: which method
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"
    PASSKEY_REFUSED = "passkey_refused"  # detail: why (cloned: its counter went backwards)
    PROVIDER_SIGN_IN = "provider_sign_in"  # detail: the provider's id
    PROVIDER_SIGN_IN_FAILED = "provider_sign_in_failed"  # detail: the provider's id and why
    ACCOUNT_CREATED_BY_PROVIDER = "account_created_by_provider"  # detail: the provider's id
    PROVIDER_LINKED = "provider_linked"  # detail: the provider's id, and ":auto" when the setting linked it
    PROVIDER_UNLINKED = "provider_unlinked"  # detail: the provider's id
    SIGN_IN_CODE_REQUESTED = "sign_in_code_requested"  # a sign-in code was mailed to the account
    SIGN_IN_CODE_FAILED = "sign_in_code_failed"  # detail: why
    ACCOUNT_CREATED_BY_SIGN_IN_CODE = "account_created_by_sign_in_code"  # SIGN_IN_CODE_CREATES_ACCOUNTS


@dataclass(frozen=True)
class AuditEvent:
    """One line of the audit log. Never a password, a code, a token or an e-mail address."""

    type: AuditEventType
    occurred_at: datetime
    user_id: UUID | None
    client_ip: str | None
    user_agent: str | None
    detail: str | None = None


@dataclass(frozen=True)
class ProviderAssertion:
    """What an OpenID Connect provider's ID token says of the person, once every check passed."""

    provider: str  # the id the operator gave the provider (OIDC_PROVIDERS)
    subject: str  # ``sub``: who the person is at that provider, for good
    email: str | None
    email_verified: bool  # the provider vouches for the address (each kind says how)
    nonce: str | None  # the ID token's; None without one (OAuth 2.0 providers: ProviderTraits.id_token)
    given_name: str | None = None  # for a new account's name, when the provider gives one
    family_name: str | None = None
    # the last moment the ID token would pass the checks: an ID token given to the gateway
    # (``signInWithIdToken``) is remembered until then, so that it works once
    expires_at: datetime | None = None


@dataclass
class ProviderIdentity:
    """An account's identity at a provider; keyed by (provider, subject), never by address."""

    provider: str
    subject: str
    user_id: UUID
    email: str | None  # the address the provider last asserted
    created_at: datetime
    last_used_at: datetime


@dataclass(frozen=True)
class ProviderSignInState:
    """A provider sign-in begun in a browser: kept until its callback (once) or expiry.

    ``state`` and the browser's binding cookie are kept as SHA-256 hashes, the nonce too;
    the PKCE verifier is kept as it is (the token request sends it).
    """

    state_hash: str
    provider: str
    browser_hash: str
    nonce_hash: str
    code_verifier: str
    return_url: str
    expires_at: datetime


@dataclass(frozen=True)
class ProviderSignInCode:
    """The one-time code the SPA exchanges for a session: what the provider asserted, behind
    the SHA-256 of a short-lived, single-use code."""

    code_hash: str
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    expires_at: datetime
    given_name: str | None = None  # the provider's, for an account made by this sign-in
    family_name: str | None = None


@dataclass
class ProviderEmailConfirmation:
    """A first sign-in whose provider did not vouch for the address: what it asserted, waiting
    for the code mailed to that address, behind the SHA-256 of a single-use ticket; the code is
    kept as its HMAC, and wrong codes are counted here."""

    ticket_hash: str
    provider: str
    subject: str
    email: str
    code_hmac: str
    expires_at: datetime
    failed_tries: int = 0
    given_name: str | None = None  # the provider's, for the account the confirmation makes
    family_name: str | None = None


@dataclass(frozen=True)
class ProviderLinkToken:
    """A provider identity waiting to be linked to the account that has its address
    (``LinkRequired``): behind the SHA-256 of a short-lived, single-use token that only a
    session of that account can redeem."""

    token_hash: str
    provider: str
    subject: str
    email: str | None
    user_id: UUID
    expires_at: datetime


@dataclass(frozen=True)
class SignInProvider:
    """A provider the SPA may offer a button for: its id and the name people know it by."""

    id: str
    display_name: str


@dataclass(frozen=True)
class ProviderSignInStarted:
    """Where to send the browser, and the value of the cookie that binds the sign-in to it."""

    authorization_url: str
    browser_secret: str
    expires_in: int  # seconds the sign-in (and the cookie) lasts
    # the provider posts its callback from its own site (form_post): the binding cookie must go along
    cross_site_callback: bool = False


@dataclass(frozen=True)
class ProviderTraits:
    """How a provider's sign-in goes, as far as the flow must know."""

    form_post: bool = False  # its callback is a form POST (response_mode=form_post), not a redirect
    id_token: bool = True  # it answers an ID token (with our nonce); False: OAuth 2.0 and an API


@dataclass(frozen=True)
class ProviderCallbackOutcome:
    """Where the callback sends the browser: ``return_url`` with a one-time ``code`` or an ``error``."""

    return_url: str
    code: str | None = None
    error: str | None = None
