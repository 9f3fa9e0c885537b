"""The settings class: every setting of the gateway, read from the environment and an optional ``.env``.

Nothing else reads the environment. Values are checked as they are read; the key
files some settings name are read (and checked) by ``key_files``.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import sys
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    SecretStr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.entities import WebhookEventType  # noqa: TC001 - pydantic reads the field types at runtime
from domain.rate_limiting import Rate
from domain.retention import RetentionPolicy
from domain.services.throttle import RateLimits

Seconds = Annotated[int, Field(ge=1)]


def _rate(value: object) -> Rate:
    if isinstance(value, Rate):
        return value
    if isinstance(value, str):
        return Rate.parse(value)
    raise ValueError("expected a rate like 30/10m")


RateSetting = Annotated[Rate, PlainValidator(_rate), NoDecode]
_DEFAULT_LIMITS = RateLimits()  # the defaults live with the rules, in the domain
# where providers send the browser back to (PUBLIC_URL in front): the web route and the adapter share it
OIDC_CALLBACK_PATH = "/oauth/callback/{provider}"
_PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def _loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")


def _loopback_address(host: str | None) -> bool:
    """``localhost`` or a loopback address: a webhook receiver there is reached without a network."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


_WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]+={0,2}$")


class WebhookEndpointSetting(BaseModel):
    """One endpoint of WEBHOOK_ENDPOINTS: where events go, the secret that signs them, which events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    # Standard Webhooks: "whsec_" and the base64 of 24 to 64 random bytes
    secret: SecretStr
    events: list[WebhookEventType] | Literal["all"] = "all"

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment or parts.username:
            raise ValueError(f"{value!r} is not an endpoint URL: https://host[:port]/path, no #fragment or user")
        return value

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        try:
            key = base64.b64decode(text.removeprefix("whsec_"), validate=True)
        except ValueError:
            key = b""
        if not _WEBHOOK_SECRET.match(text) or not 24 <= len(key) <= 64:
            raise ValueError("a webhook secret is whsec_ and the base64 of 24 to 64 random bytes")
        return value

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[WebhookEventType] | str) -> list[WebhookEventType] | str:
        if isinstance(value, list) and not value:
            raise ValueError('an endpoint needs at least one event, or "all"')
        return value


def _provider_url(value: str) -> str:
    """A provider's URL (issuer, authority, API): https, or http on this machine only; no query."""
    parts = urlsplit(value)
    if not parts.hostname or parts.query or parts.fragment or parts.scheme not in ("https", "http"):
        raise ValueError(f"{value!r} is not a provider URL: https://host[/path], no query")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{value!r} must use https (http is for a provider on this machine only)")
    return value


ProviderUrl = Annotated[str, AfterValidator(_provider_url)]
_OPENID_SCOPES = ["openid", "email", "profile"]


class _ProviderSetting(BaseModel):
    """What every provider of OIDC_PROVIDERS has, whatever its kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(min_length=1, max_length=512)
    # the name on the SPA's button ("Sign in with …"); the preset's name, or the provider's id
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    # link a new identity to the account with its address when the provider asserts it verified,
    # instead of answering LinkRequired: trusts the provider with every such account (docs/providers.md)
    auto_link_verified_email: bool = False

    @field_validator("scopes", check_fields=False)
    @classmethod
    def _check_scopes(cls, value: list[str]) -> list[str]:
        if not all(scope and scope.isascii() and " " not in scope for scope in value):
            raise ValueError("each scope is one word")
        return value


class _IdTokenProviderSetting(_ProviderSetting):
    """A provider whose sign-ins come with ID tokens (every kind but GitHub)."""

    # the client ids of native apps (Android, iOS) whose ID tokens signInWithIdToken also takes
    # as theirs (aud, azp), besides client_id
    id_token_audiences: list[Annotated[str, Field(min_length=1, max_length=512)]] = Field(
        default_factory=list, max_length=16
    )


class _OpenIdScopes(_IdTokenProviderSetting):
    scopes: list[str] = Field(default_factory=lambda: list(_OPENID_SCOPES))

    @field_validator("scopes")
    @classmethod
    def _check_openid(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError('the scopes must include "openid"')
        return value


class OidcProviderSetting(_OpenIdScopes):
    """A provider found by discovery at its issuer (``"kind": "oidc"``, the default)."""

    kind: Literal["oidc"] = "oidc"
    issuer: ProviderUrl
    client_secret: SecretStr


class GoogleProviderSetting(_OpenIdScopes):
    """Google (``"kind": "google"``): OpenID Connect at accounts.google.com."""

    kind: Literal["google"]
    issuer: ProviderUrl = "https://accounts.google.com"
    client_secret: SecretStr


_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,254}$")
_TENANT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class MicrosoftProviderSetting(_OpenIdScopes):
    """Microsoft Entra ID (``"kind": "microsoft"``): one tenant, or many through ``common``,
    ``organizations`` or ``consumers``."""

    kind: Literal["microsoft"]
    authority: ProviderUrl = "https://login.microsoftonline.com"
    # common, organizations, consumers, or one tenant (its id or one of its domains)
    tenant: str = "common"
    # the tenant ids (tid) whose people may sign in; empty: every tenant the authority lets in
    allowed_tenants: list[str] = Field(default_factory=list)
    # Entra ID lets a tenant's administrators set an address nobody proved: only true makes it verified
    trust_email: bool = False
    client_secret: SecretStr

    @field_validator("tenant")
    @classmethod
    def _check_tenant(cls, value: str) -> str:
        if not _TENANT.match(value):
            raise ValueError(f"{value!r} is not a tenant: common, organizations, consumers, a tenant id or domain")
        return value.lower()

    @field_validator("allowed_tenants")
    @classmethod
    def _check_allowed(cls, value: list[str]) -> list[str]:
        for tenant in value:
            if not _TENANT_ID.match(tenant.lower()):
                raise ValueError(f"{tenant!r} is not a tenant id (a GUID, as in the tid claim)")
        return [tenant.lower() for tenant in value]


class AppleProviderSetting(_IdTokenProviderSetting):
    """Sign in with Apple (``"kind": "apple"``): a form POST to the callback, and a client secret
    the gateway signs itself with the key Apple gave the team."""

    kind: Literal["apple"]
    issuer: ProviderUrl = "https://appleid.apple.com"
    scopes: list[str] = Field(default_factory=lambda: ["openid", "name", "email"])
    team_id: str = Field(pattern=r"^[A-Z0-9]{10}$")
    key_id: str = Field(pattern=r"^[A-Z0-9]{10}$")
    # the .p8 file's PEM (an EC P-256 private key), or the path of the file: one of the two
    private_key: SecretStr | None = None
    private_key_file: Path | None = None

    @model_validator(mode="after")
    def _one_key(self) -> AppleProviderSetting:
        if (self.private_key is None) == (self.private_key_file is None):
            raise ValueError("an Apple provider needs one of private_key (the .p8 file's PEM) and private_key_file")
        return self


class GitHubProviderSetting(_ProviderSetting):
    """GitHub (``"kind": "github"``): OAuth 2.0 without ID tokens; the person from its REST API."""

    kind: Literal["github"]
    url: ProviderUrl = "https://github.com"  # the authorization and token endpoints' host
    api_url: ProviderUrl = "https://api.github.com"
    scopes: list[str] = Field(default_factory=lambda: ["read:user", "user:email"])
    client_secret: SecretStr


def _provider_kind(value: object) -> str:
    kind = value.get("kind", "oidc") if isinstance(value, dict) else getattr(value, "kind", "oidc")
    return kind if isinstance(kind, str) else "oidc"


ProviderSetting = Annotated[
    Annotated[OidcProviderSetting, Tag("oidc")]
    | Annotated[GoogleProviderSetting, Tag("google")]
    | Annotated[MicrosoftProviderSetting, Tag("microsoft")]
    | Annotated[AppleProviderSetting, Tag("apple")]
    | Annotated[GitHubProviderSetting, Tag("github")],
    Discriminator(
        _provider_kind,
        custom_error_type="provider_kind",
        custom_error_message='"kind" is one of oidc (the default), google, microsoft, apple, github',
    ),
]
PROVIDER_DISPLAY_NAMES = {"google": "Google", "microsoft": "Microsoft", "apple": "Apple", "github": "GitHub"}


_DEFAULT_RETENTION = RetentionPolicy()


class Settings(BaseSettings):
    """Every setting of the gateway, read from the environment and an optional ``.env``."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    database_url: str = "sqlite://data/gateway.sqlite3"
    migrate_on_start: bool = True
    # On SIGTERM the gateway stops accepting connections and gives the requests in flight this
    # long to finish; then it sends queued mail and exits 0 (docs/operations.md, "Deployment").
    shutdown_grace_seconds: Annotated[int, Field(ge=1, le=3600)] = 20

    product_name: str = "Auth Gateway"
    # the language of mails to people whose account and request name none that ships (en, de, fr);
    # the gateway refuses to start with one that does not ship (docs/configuration.md)
    default_locale: str = "en"
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "auth-gateway"
    jwt_audience: str = "auth-gateway"
    # Access-token signing (docs/signing-keys.md): each key is PEM or JWK (JSON) text
    jwt_algorithm: Literal["EdDSA", "ES256", "RS256", "HS256"] = "EdDSA"
    jwt_signing_key: SecretStr | None = None
    jwt_signing_key_file: Path | None = None
    jwt_verification_keys: SecretStr | None = None
    jwt_verification_key_files: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    public_url: str | None = None  # the gateway's external base URL, for the discovery document
    access_token_ttl_seconds: Seconds = 15 * 60
    refresh_token_idle_ttl_seconds: Seconds = 14 * 24 * 3600
    refresh_token_absolute_ttl_seconds: Seconds = 30 * 24 * 3600
    refresh_token_reuse_grace_seconds: Annotated[int, Field(ge=0, le=300)] = 10
    otp_ttl_seconds: Annotated[int, Field(ge=60, le=24 * 3600)] = 10 * 60
    # a sign-up whose code never came back is forgotten after this long (docs/security.md)
    unverified_account_ttl_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    # whether requestSignInCode for an address without an account makes one, without a
    # password, confirmed by the code (docs/api.md, "Sign-in by e-mail code")
    sign_in_code_creates_accounts: bool = False
    # the SPA's page that takes the token of a sign-in code's mail from its #fragment and calls
    # signInWithLink (docs/api.md, "Sign-in by e-mail code"); unset: the mail carries the code only
    sign_in_link_url: str | None = None
    # mail the owner when a sign-in comes from a browser or network none of the account's
    # sign-ins of the last 90 days came from (docs/security.md, "New-device notices")
    new_device_notices: bool = True
    # how long a sign-in with the second factor (or reauthenticate) lets its session change
    # what matters on an account that has one (docs/api.md, "Second factors")
    reauthentication_window_seconds: Annotated[int, Field(ge=30, le=24 * 3600)] = 5 * 60
    # off: nobody may set up an authenticator app (those set up before are still asked for);
    # optional; required: an account without one may only set one up (docs/api.md)
    second_factor_policy: Literal["off", "optional", "required"] = "optional"
    # passkeys (WebAuthn): the site they belong to, and the pages allowed to use them
    # (default: PUBLIC_URL's host, else localhost; and CORS_ORIGINS) (docs/api.md, "Passkeys")
    webauthn_rp_id: str | None = None
    webauthn_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    bcrypt_cost: Annotated[int, Field(ge=4, le=31)] = 12

    email_backend: Literal["console", "smtp"] = "console"
    email_from: str = "Auth Gateway <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool | None = None
    smtp_tls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # The mail outbox (docs/operations.md, "The mail outbox"): retries, their backoff, the claim lease
    outbox_max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    outbox_retry_base_seconds: float = Field(default=10.0, gt=0)
    outbox_retry_max_seconds: float = Field(default=3600.0, gt=0)
    outbox_claim_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_poll_seconds: float = Field(default=5.0, gt=0, le=300)
    outbox_batch_size: Annotated[int, Field(ge=1, le=100)] = 10

    # Browsers (docs/spa.md): where the refresh token travels, and who may call
    refresh_token_transport: Literal["body", "cookie", "both"] = "body"  # noqa: S105 - a mode, not a secret
    refresh_cookie_secure: bool = True
    refresh_cookie_samesite: Literal["strict", "lax", "none"] = "strict"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_max_age_seconds: Annotated[int, Field(ge=0, le=86400)] = 600

    # GraphQL surface and HTTP hardening (schema/limits.py, schema/http.py). Production also
    # turns off GraphiQL, introspection, "Did you mean" hints and GET. The defaults pass every
    # real operation and GraphiQL's introspection query (15 fields deep, about 190 tokens);
    # graphql-core's validation grows faster than the document, so tokens are kept tight.
    graphql_max_depth: Annotated[int, Field(ge=1)] = 20
    graphql_max_aliases: Annotated[int, Field(ge=0)] = 15
    graphql_max_tokens: Annotated[int, Field(ge=1)] = 500
    graphql_max_directives: Annotated[int, Field(ge=0)] = 20
    max_request_body_bytes: Annotated[int, Field(ge=1)] = 64 * 1024
    # Trusted documents (docs/security.md): the SPA's documents by id, from its manifest;
    # with TRUSTED_DOCUMENTS_ONLY nothing else runs
    trusted_documents: Path | None = None
    trusted_documents_only: bool = False

    # Rate limits and lockout (docs/security.md): rates are "attempts/window", e.g. 30/10m
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_login_per_ip: RateSetting = _DEFAULT_LIMITS.login_per_ip
    rate_limit_verify_per_ip: RateSetting = _DEFAULT_LIMITS.verify_per_ip
    rate_limit_verify_per_account: RateSetting = _DEFAULT_LIMITS.verify_per_account
    rate_limit_register_per_ip: RateSetting = _DEFAULT_LIMITS.register_per_ip
    rate_limit_codes_per_account: RateSetting = _DEFAULT_LIMITS.codes_per_account
    rate_limit_codes_per_address: RateSetting = _DEFAULT_LIMITS.codes_per_address
    rate_limit_password_checks_per_account: RateSetting = _DEFAULT_LIMITS.password_checks_per_account
    rate_limit_password_checks_per_ip: RateSetting = _DEFAULT_LIMITS.password_checks_per_ip
    rate_limit_refresh_per_ip: RateSetting = _DEFAULT_LIMITS.refresh_per_ip
    rate_limit_refresh_per_account: RateSetting = _DEFAULT_LIMITS.refresh_per_account
    rate_limit_code_requests_per_ip: RateSetting = _DEFAULT_LIMITS.code_requests_per_ip
    otp_resend_cooldown_seconds: Annotated[int, Field(ge=0, le=3600)] = int(
        _DEFAULT_LIMITS.resend_cooldown.total_seconds()
    )
    lockout_free_failures: Annotated[int, Field(ge=1, le=100)] = _DEFAULT_LIMITS.lockout.free_failures
    lockout_first_delay_seconds: Seconds = int(_DEFAULT_LIMITS.lockout.first_delay.total_seconds())
    lockout_max_delay_seconds: Seconds = int(_DEFAULT_LIMITS.lockout.max_delay.total_seconds())
    # NIST SP 800-63B: no more than 100 consecutive failed attempts on one account.
    lockout_hard_limit: Annotated[int, Field(ge=1, le=100)] = _DEFAULT_LIMITS.lockout.hard_limit

    # Operating it (docs/operations.md): /readyz's time budget, /metrics, the log format.
    # /metrics is on in development; in production only with METRICS_TOKEN (then behind it)
    # or an explicit METRICS_ENABLED=true (for a port only Prometheus can reach).
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    metrics_enabled: bool | None = None
    metrics_token: SecretStr | None = None
    log_format: Literal["json", "text"] | None = None  # default: json in production, text in development

    # Sign-in with OpenID Connect providers (docs/providers.md): a JSON object of provider id to
    # a setting of its kind (oidc by default, or a preset: google, microsoft, apple, github); the SPA
    # addresses the callback may return to
    oidc_providers: dict[str, ProviderSetting] = Field(default_factory=dict)
    oidc_return_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    oidc_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Signed webhooks (docs/webhooks.md): {"id": {"url", "secret": "whsec_…", "events": [...] or "all"}}
    webhook_endpoints: dict[str, WebhookEndpointSetting] = Field(default_factory=dict)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # Retention (docs/operations.md, "Retention"): the server deletes what is past its time at
    # start and every RETENTION_INTERVAL_SECONDS (0: never; `python server.py purge` still does)
    retention_interval_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] = 3600
    # ended sessions (and their refresh tokens) are kept this many days after they ended
    retention_ended_session_days: Annotated[int, Field(ge=0, le=3650)] = _DEFAULT_RETENTION.ended_session_grace.days
    # audit events are kept this many days; 0 keeps them forever
    retention_audit_days: Annotated[int, Field(ge=0, le=36500)] = (
        _DEFAULT_RETENTION.audit_lifetime.days if _DEFAULT_RETENTION.audit_lifetime else 0
    )
    # delivered outbox items (mails and webhook events, their contents already gone) are kept this many days
    retention_outbox_sent_days: Annotated[int, Field(ge=0, le=3650)] = _DEFAULT_RETENTION.outbox_sent_lifetime.days
    # dead outbox items are kept this many days after they died (`outbox retry` until then)
    retention_outbox_dead_days: Annotated[int, Field(ge=1, le=3650)] = _DEFAULT_RETENTION.outbox_dead_lifetime.days
    # a known device unseen this many days is forgotten (its next sign-in is new again)
    retention_known_device_days: Annotated[int, Field(ge=1, le=3650)] = _DEFAULT_RETENTION.known_device_lifetime.days
    # rows per DELETE statement
    retention_batch_size: Annotated[int, Field(ge=1, le=10000)] = _DEFAULT_RETENTION.batch_size

    @field_validator(
        "trusted_proxies",
        "cors_origins",
        "webauthn_origins",
        "jwt_verification_key_files",
        "oidc_return_urls",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not a base URL: scheme://host[:port][/path], no query")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            # "*" (which uvicorn's ProxyHeadersMiddleware understands) or a /0 network would let
            # every client choose its own address in X-Forwarded-For, and with it a fresh budget
            # of every per-address limit.
            if item == "*" or ipaddress.ip_network(item, strict=False).prefixlen == 0:  # ValueError names a bad entry
                raise ValueError(
                    f"{item!r} would let every client say which address it has: list the addresses of your "
                    "reverse proxies (or their networks), e.g. TRUSTED_PROXIES=10.0.0.5,10.0.1.0/24"
                )
        return value

    @field_validator("cors_origins", "webauthn_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        origins = []
        for item in value:
            if item == "*":
                raise ValueError("'*' is not allowed: name each origin, e.g. https://app.example.com")
            parts = urlsplit(item)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or item.lower() != f"{parts.scheme}://{parts.netloc}".lower()
            ):
                raise ValueError(f"{item!r} is not an origin: scheme://host[:port], no path or trailing slash")
            origins.append(item.lower())
        return origins

    @field_validator("oidc_providers")
    @classmethod
    def _check_provider_ids(cls, value: dict[str, ProviderSetting]) -> dict[str, ProviderSetting]:
        for provider in value:
            if not _PROVIDER_ID.match(provider):
                raise ValueError(f"{provider!r} is not a provider id: 1 to 32 of a-z, 0-9 and -, e.g. example-sso")
        return value

    @field_validator("webhook_endpoints")
    @classmethod
    def _check_endpoint_ids(cls, value: dict[str, WebhookEndpointSetting]) -> dict[str, WebhookEndpointSetting]:
        for endpoint in value:
            if not _PROVIDER_ID.match(endpoint):
                raise ValueError(f"{endpoint!r} is not an endpoint id: 1 to 32 of a-z, 0-9 and -, e.g. crm-sync")
        return value

    @field_validator("oidc_return_urls")
    @classmethod
    def _check_return_urls(cls, value: list[str]) -> list[str]:
        for item in value:
            parts = urlsplit(item)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
                raise ValueError(f"{item!r} is not an address of the SPA: scheme://host[:port]/path, no #fragment")
            if parts.scheme == "http" and not _loopback(parts.hostname):
                raise ValueError(f"{item!r} must use https (http is for localhost only)")
        return value

    @field_validator("sign_in_link_url")
    @classmethod
    def _check_sign_in_link_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment or "#" in value:
            raise ValueError(f"{value!r} is not a page of the SPA: scheme://host[:port]/path, no #fragment")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError(f"{value!r} must use https (http is for localhost only)")
        return value

    @property
    def oidc_callback_url(self) -> str:
        """Where providers send the browser back to, with ``{provider}`` in place of the provider's id."""
        return (self.public_url or f"http://{self.host}:{self.port}") + OIDC_CALLBACK_PATH

    @property
    def passkey_rp_id(self) -> str:
        """The relying-party ID of passkeys: WEBAUTHN_RP_ID, else PUBLIC_URL's host, else localhost."""
        if self.webauthn_rp_id:
            return self.webauthn_rp_id.lower()
        return (urlsplit(self.public_url).hostname if self.public_url else None) or "localhost"

    @property
    def passkey_origins(self) -> list[str]:
        """The pages allowed to use passkeys: WEBAUTHN_ORIGINS, else those of CORS_ORIGINS on the
        relying party's site over https (or localhost); none: passkeys are not offered."""
        if self.webauthn_origins:
            return self.webauthn_origins
        return [origin for origin in self.cors_origins if _passkey_origin_problem(origin, self.passkey_rp_id) is None]

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not re.match(r"^(sqlite|postgres|postgresql|asyncpg)://", self.database_url):
            raise ValueError("DATABASE_URL must start with sqlite:// or postgres://")
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters long")
        if self.lockout_max_delay_seconds < self.lockout_first_delay_seconds:
            raise ValueError("LOCKOUT_MAX_DELAY_SECONDS must not be shorter than LOCKOUT_FIRST_DELAY_SECONDS")
        if self.outbox_claim_lease_seconds <= self.smtp_timeout_seconds:
            raise ValueError(
                "OUTBOX_CLAIM_LEASE_SECONDS must be longer than SMTP_TIMEOUT_SECONDS: a mail still being sent "
                "when its lease runs out would be sent again"
            )
        if self.webhook_endpoints and self.outbox_claim_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError(
                "OUTBOX_CLAIM_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS: an event still being sent "
                "when its lease runs out would be sent again"
            )
        if self.outbox_retry_max_seconds < self.outbox_retry_base_seconds:
            raise ValueError("OUTBOX_RETRY_MAX_SECONDS must not be shorter than OUTBOX_RETRY_BASE_SECONDS")
        if self.lockout_hard_limit < self.lockout_free_failures:
            raise ValueError("LOCKOUT_HARD_LIMIT must not be below LOCKOUT_FREE_FAILURES")
        if self.refresh_token_absolute_ttl_seconds < self.refresh_token_idle_ttl_seconds:
            raise ValueError("REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS must not be shorter than the idle lifetime")
        if self.trusted_documents_only and self.trusted_documents is None:
            raise ValueError("TRUSTED_DOCUMENTS_ONLY needs TRUSTED_DOCUMENTS, the manifest of the documents to run")
        if self.refresh_cookie_samesite == "none" and not self.refresh_cookie_secure:
            raise ValueError("REFRESH_COOKIE_SAMESITE=none needs REFRESH_COOKIE_SECURE=true (browsers insist)")
        if 0 < self.retention_interval_seconds < 60:
            raise ValueError("RETENTION_INTERVAL_SECONDS must be 0 (off) or at least 60")
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 16:
            raise ValueError("METRICS_TOKEN must be at least 16 characters long")
        if self.oidc_providers and not self.oidc_return_urls:
            raise ValueError("OIDC_PROVIDERS needs OIDC_RETURN_URLS: where the SPA takes the sign-in back")
        if self.oidc_providers and self.production and self.public_url is None:
            raise ValueError("OIDC_PROVIDERS needs PUBLIC_URL when APP_ENV=production: providers redirect to it")
        for origin in self.webauthn_origins:  # named for passkeys: each must fit (CORS_ORIGINS are filtered)
            problem = _passkey_origin_problem(origin, self.passkey_rp_id)
            if problem is not None:
                raise ValueError(f"WEBAUTHN_ORIGINS: {problem}")
        if self.production:
            if self.sign_in_link_url is not None and urlsplit(self.sign_in_link_url).scheme != "https":
                raise ValueError("SIGN_IN_LINK_URL must use https when APP_ENV=production: the link carries a sign-in")
            if not self.refresh_cookie_secure:
                raise ValueError("REFRESH_COOKIE_SECURE=false is for http://localhost development, not production")
            if self.jwt_secret is None:
                raise ValueError("JWT_SECRET is required when APP_ENV=production")
            if self.jwt_algorithm != "HS256" and self.jwt_signing_key is None and self.jwt_signing_key_file is None:
                raise ValueError(
                    f"JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE is required when APP_ENV=production and "
                    f"JWT_ALGORITHM={self.jwt_algorithm} (make one: python server.py generate-key --alg "
                    f"{self.jwt_algorithm}), or set JWT_ALGORITHM=HS256 to sign with JWT_SECRET"
                )
            if self.email_backend != "smtp":
                raise ValueError("EMAIL_BACKEND must be smtp when APP_ENV=production (console prints codes)")
            for endpoint, setting in self.webhook_endpoints.items():
                parts = urlsplit(setting.url)
                if parts.scheme != "https" and not _loopback_address(parts.hostname):
                    raise ValueError(
                        f"WEBHOOK_ENDPOINTS: endpoint {endpoint!r} must use https when APP_ENV=production "
                        "(http is for a receiver on this machine only: localhost, 127.0.0.0/8 or ::1)"
                    )
        return self

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def serves_metrics(self) -> bool:
        if self.metrics_enabled is not None:
            return self.metrics_enabled
        return not self.production or self.metrics_token is not None

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" if self.log_format else self.production


def load_settings() -> Settings:
    """Read the settings, or stop with a message that names the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            variable = "_".join(str(part) for part in error["loc"]).upper() or "configuration"
            lines.append(f"  {variable}: {error['msg']}")
        sys.stderr.write("Invalid configuration:\n" + "\n".join(lines) + "\n")
        raise SystemExit(2) from None


def _passkey_origin_problem(origin: str, rp_id: str) -> str | None:
    """Why ``origin`` may not use passkeys of the site ``rp_id``, or ``None``."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    if host != rp_id and not host.endswith("." + rp_id):
        return (
            f"{origin} is not on the site {rp_id!r} (WEBAUTHN_RP_ID): its host must be the relying-party ID "
            "or one of its subdomains"
        )
    if parts.scheme != "https" and host not in ("localhost", "127.0.0.1"):
        return f"{origin} must use https (browsers allow http for localhost only)"
    return None
