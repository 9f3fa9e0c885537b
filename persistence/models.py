"""Tables. Secrets never appear here in a usable form: codes and refresh tokens
are stored as keyed or plain hashes, passwords as bcrypt hashes."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class UserRow(Model):
    id = fields.UUIDField(primary_key=True)
    email = fields.CharField(max_length=254)
    # the mailbox's identity (domain.entities.email_key): one account per mailbox
    email_key = fields.CharField(max_length=254, unique=True)
    # "": no password (an account a provider sign-in made); a password reset sets one. Not
    # NULL: making the column nullable rebuilds the table on SQLite, and the rebuild's DROP
    # would cascade to every session, code and factor of every account.
    password_hash = fields.CharField(max_length=128)
    first_name = fields.CharField(max_length=128, null=True)
    last_name = fields.CharField(max_length=128, null=True)
    # the language of the account's mails; NULL: the caller's or DEFAULT_LOCALE
    locale = fields.CharField(max_length=16, null=True)
    email_verified = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "users"


class OtpChallengeRow(Model):
    id = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="otp_challenges", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=32)
    code_hmac = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    # change_email: the address the code went to, which the account moves to
    new_email = fields.CharField(max_length=254, null=True)
    # sign_in with SIGN_IN_LINK_URL: the SHA-256 of the link's token, which signs in as the code does
    link_hash = fields.CharField(max_length=64, null=True, unique=True)

    class Meta:
        table = "otp_challenges"
        unique_together = (("user", "purpose"),)


class SessionRow(Model):
    id = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="sessions", on_delete=fields.CASCADE
    )
    family_seed = fields.CharField(max_length=64)
    generation = fields.IntField()
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    client_ip = fields.CharField(max_length=45, null=True)
    user_agent = fields.CharField(max_length=512, null=True)
    # RFC 8176 methods, space-separated; NULL for sessions from before they were recorded: "pwd"
    amr = fields.CharField(max_length=64, null=True)
    # when it last proved its owner (sign-in or reauthenticate); NULL: at created_at
    authenticated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sessions"


# A device an account signed in from: the keyed hash of its browser, system and network
# (domain.devices), never the user agent or address themselves; for new-device notices.
class KnownDeviceRow(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="known_devices", on_delete=fields.CASCADE
    )
    device_hash = fields.CharField(max_length=64)
    last_seen_at = fields.DatetimeField()

    class Meta:
        table = "known_devices"
        unique_together = (("user", "device_hash"),)


class RefreshTokenRow(Model):
    token_hash = fields.CharField(max_length=64, primary_key=True)
    session: fields.ForeignKeyRelation[SessionRow] = fields.ForeignKeyField(
        "models.SessionRow", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    generation = fields.IntField()
    issued_at = fields.DatetimeField()
    # No longer written: a token is spent when its session's generation has moved past it.
    # Gateways of earlier versions still write it while a rolling upgrade runs, so the column
    # goes in a later release's migration.
    spent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"


# One rate-limit or lockout counter; the key is an HMAC, never an address.
# (A docstring here would become a table comment in the migration.)
# No index but the key: every hit moves expires_at, and an index on it made each hit a
# non-HOT update (new entries in every index, dead versions for each lookup to step over).
# The purge of expired counters scans the table instead.
class ThrottleRow(Model):
    key = fields.CharField(max_length=64, primary_key=True)
    count = fields.IntField(default=0)
    marked_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "throttles"


class AuditEventRow(Model):
    id = fields.BigIntField(primary_key=True)
    occurred_at = fields.DatetimeField(db_index=True)
    event = fields.CharField(max_length=32)
    user: fields.ForeignKeyNullableRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    client_ip = fields.CharField(max_length=45, null=True)
    user_agent = fields.CharField(max_length=512, null=True)
    detail = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_events"


# An account's authenticator app; the secret is sealed (AES-GCM) with a key derived from the
# server secret, never stored readable.
class TotpFactorRow(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.OneToOneRelation[UserRow] = fields.OneToOneField(
        "models.UserRow", related_name="totp_factor", on_delete=fields.CASCADE
    )
    sealed_secret = fields.BinaryField()
    created_at = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)
    last_step = fields.BigIntField(null=True)

    class Meta:
        table = "totp_factors"


# One unused recovery code of an account, as an HMAC keyed with a server key.
class RecoveryCodeRow(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="recovery_codes", on_delete=fields.CASCADE
    )
    code_hash = fields.CharField(max_length=64)

    class Meta:
        table = "recovery_codes"
        unique_together = (("user", "code_hash"),)


# A sign-in waiting for its second step: the SHA-256 of the ticket handed out.
class SignInTicketRow(Model):
    ticket_hash = fields.CharField(max_length=64, primary_key=True)
    user: fields.ForeignKeyRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="sign_in_tickets", on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField(db_index=True)
    tries = fields.IntField(default=0)
    # how the first step proved the person (RFC 8176): "pwd", or "fed" for a provider
    first_factor = fields.CharField(max_length=8, default="pwd")

    class Meta:
        table = "sign_in_tickets"


# A passkey (WebAuthn credential) of an account: its public key (COSE) and signature counter.
class PasskeyRow(Model):
    credential_id = fields.CharField(max_length=1400, primary_key=True)  # base64url, at most 1023 bytes
    user: fields.ForeignKeyRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="passkeys", on_delete=fields.CASCADE
    )
    public_key = fields.BinaryField()
    sign_count = fields.BigIntField(default=0)
    name = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    backed_up = fields.BooleanField(default=False)
    synced = fields.BooleanField(default=False)

    class Meta:
        table = "passkeys"


# A WebAuthn challenge handed out and not yet answered: its SHA-256, single use.
class PasskeyChallengeRow(Model):
    challenge_hash = fields.CharField(max_length=64, primary_key=True)
    purpose = fields.CharField(max_length=16)
    expires_at = fields.DatetimeField(db_index=True)
    user: fields.ForeignKeyNullableRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="passkey_challenges", on_delete=fields.CASCADE, null=True
    )

    class Meta:
        table = "passkey_challenges"


# An account's identity at an OpenID Connect provider: (provider, subject), never the address.
class ProviderIdentityRow(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="provider_identities", on_delete=fields.CASCADE
    )
    provider = fields.CharField(max_length=32)
    subject = fields.CharField(max_length=255)
    email = fields.CharField(max_length=254, null=True)  # as the provider last asserted it
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField()

    class Meta:
        table = "provider_identities"
        unique_together = (("provider", "subject"),)


# A provider sign-in under way: the SHA-256 of its state, of the browser's binding cookie and
# of its nonce; the PKCE verifier (the token request sends it). Single use, short-lived.
class ProviderSignInStateRow(Model):
    state_hash = fields.CharField(max_length=64, primary_key=True)
    provider = fields.CharField(max_length=32)
    browser_hash = fields.CharField(max_length=64)
    nonce_hash = fields.CharField(max_length=64)
    code_verifier = fields.CharField(max_length=128)
    return_url = fields.CharField(max_length=2048)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "provider_sign_in_states"


# What a provider asserted, behind the SHA-256 of the one-time code the SPA exchanges for a
# session. Single use, short-lived.
class ProviderSignInCodeRow(Model):
    code_hash = fields.CharField(max_length=64, primary_key=True)
    provider = fields.CharField(max_length=32)
    subject = fields.CharField(max_length=255)
    email = fields.CharField(max_length=254, null=True)
    email_verified = fields.BooleanField(default=False)
    expires_at = fields.DatetimeField(db_index=True)
    # the name the provider gave (Apple: only on the first sign-in), for an account this sign-in makes
    given_name = fields.CharField(max_length=128, null=True)
    family_name = fields.CharField(max_length=128, null=True)

    class Meta:
        table = "provider_sign_in_codes"


# A provider identity waiting for the owner of the account that has its address to link it
# (LinkRequired), behind the SHA-256 of a single-use, short-lived token. Only that account's
# sessions redeem it; the account's deletion takes it along.
class ProviderLinkTokenRow(Model):
    token_hash = fields.CharField(max_length=64, primary_key=True)
    provider = fields.CharField(max_length=32)
    subject = fields.CharField(max_length=255)
    email = fields.CharField(max_length=254, null=True)
    user: fields.ForeignKeyRelation[UserRow] = fields.ForeignKeyField(
        "models.UserRow", related_name="provider_link_tokens", on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "provider_link_tokens"


# An ID token given to signInWithIdToken, as its SHA-256, until it would no longer pass the
# checks: each one signs in once.
class SpentIdTokenRow(Model):
    token_hash = fields.CharField(max_length=64, primary_key=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "spent_id_tokens"


# A first provider sign-in waiting for the code mailed to the address the provider did not
# vouch for, behind the SHA-256 of a single-use ticket; the code as its HMAC, its wrong tries.
class ProviderEmailConfirmationRow(Model):
    ticket_hash = fields.CharField(max_length=64, primary_key=True)
    provider = fields.CharField(max_length=32)
    subject = fields.CharField(max_length=255)
    email = fields.CharField(max_length=254)
    code_hmac = fields.CharField(max_length=64)
    failed_tries = fields.IntField(default=0)
    expires_at = fields.DatetimeField(db_index=True)
    given_name = fields.CharField(max_length=128, null=True)
    family_name = fields.CharField(max_length=128, null=True)

    class Meta:
        table = "provider_email_confirmations"


# The mail outbox: a mail written in the transaction of the change that causes it, sealed
# (AES-GCM, a key derived from the server secret, bound to the id): the address and any code
# are unreadable here. A claim moves next_attempt_at on by the claim's lease; a delivered
# item gets sent_at and loses its sealed mail; a dead one keeps dead_at until an operator
# queues it again. The retention job deletes sent and dead items after a while. Indexes
# beyond db_index (partial ones, for the claim and the retention scans) are in 0013.
class OutboxRow(Model):
    id = fields.UUIDField(primary_key=True)
    kind = fields.CharField(max_length=32)  # the mail's kind, or the webhook event's type
    sealed_mail = fields.BinaryField()  # the sealed mail, or the sealed webhook delivery
    created_at = fields.DatetimeField()
    next_attempt_at = fields.DatetimeField(db_index=True)
    attempts = fields.IntField(default=0)
    claimant = fields.CharField(max_length=32, null=True)
    last_error = fields.CharField(max_length=128, null=True)
    dead_at = fields.DatetimeField(null=True)
    endpoint = fields.CharField(max_length=64, null=True)  # a webhook's endpoint id; NULL for a mail
    sent_at = fields.DatetimeField(null=True)  # delivered: kept, its sealed mail emptied, until the retention job

    class Meta:
        table = "outbox"
