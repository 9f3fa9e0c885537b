"""Settings, wiring and lifespan: the only module that knows every layer.

``uvicorn server:app`` serves the gateway; ``python server.py`` does the same
with the configured HOST and PORT; ``python server.py migrate`` applies pending
database migrations and exits; ``python server.py check`` validates the settings;
``python server.py unlock-account EMAIL`` ends an account's sign-in lockout;
``python server.py generate-key [--alg EdDSA|ES256|RS256]`` makes an access-token signing key.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import ipaddress
import json
import logging
import os
import re
import secrets
import signal
import sys
import uuid
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, PlainValidator, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from domain.clock import SystemClock
from domain.errors import InvalidInput
from domain.otp import OtpCodes
from domain.policy import AuthPolicy
from domain.refresh_tokens import RefreshTokenMinter
from domain.secrets import KeyRing
from domain.services.account import AccountService
from domain.services.audit import AuditTrail
from domain.services.code_tries import CodeTries
from domain.services.email_change import EmailChangeService
from domain.services.identity import IdentityService
from domain.services.login import LoginService
from domain.services.mail_queue import MailQueue
from domain.services.otp_checker import OtpChecker
from domain.services.otp_sender import OtpSender
from domain.services.password_check import PasswordCheck
from domain.services.password_reset import PasswordResetService
from domain.services.refresh import RefreshService
from domain.services.registration import RegistrationService
from domain.services.session_starter import SessionStarter
from domain.services.sessions import SessionService
from domain.services.throttle import RateLimits, Throttle
from domain.services.verification import VerificationService
from domain.throttling import LockoutPolicy, Rate
from domain.validation import InputCollector, normalise_email
from mail.console import ConsoleMailer
from mail.smtp import SmtpConfig, SmtpMailer
from persistence.config import tortoise_config
from persistence.health import DatabaseProbe
from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork, TortoiseUnitOfWork
from schema.context import Services
from schema.forward_auth import forward_auth_route
from schema.health import Readiness, health_routes
from schema.http import RequestGuard, SecurityHeaders, http_exception_handler, server_error_handler
from schema.limits import GraphQLLimits
from schema.metrics import GatewayMetrics
from schema.request_log import RequestLog, configure_logging
from schema.root import build_schema
from schema.transport import CSRF_HEADER, RefreshTokenTransport
from schema.uvicorn_protocol import gateway_http_protocol
from schema.view import GatewayGraphQL
from schema.wellknown import well_known_routes
from security.access_tokens import AccessTokenCodec
from security.passwords import BcryptPasswordHasher
from security.signing_keys import (
    AccessTokenKey,
    AccessTokenKeys,
    generate_signing_key,
    keys_by_kid,
    load_keys,
    load_signing_key,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from types import FrameType

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from domain.ports import AuditObserver, Clock, Mailer, PasswordHasher, UnitOfWork

logger = logging.getLogger("gateway")

GRAPHQL_PATH = "/graphql"

Seconds = Annotated[int, Field(ge=1)]


def _rate(value: object) -> Rate:
    if isinstance(value, Rate):
        return value
    if isinstance(value, str):
        return Rate.parse(value)
    raise ValueError("expected a rate like 30/10m")


RateSetting = Annotated[Rate, PlainValidator(_rate), NoDecode]
_DEFAULT_LIMITS = RateLimits()  # the defaults live with the rules, in the domain


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
    # long to finish; then it sends queued mail and exits 0 (README, "Deployment").
    shutdown_grace_seconds: Annotated[int, Field(ge=1, le=3600)] = 20

    product_name: str = "Auth Gateway"
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "auth-gateway"
    jwt_audience: str = "auth-gateway"
    # Access-token signing (README, "Signing keys and JWKS"): each key is PEM or JWK (JSON) text
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
    # a sign-up whose code never came back is forgotten after this long (README, "Security")
    unverified_account_ttl_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
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

    # Browsers (README, "Using it from a SPA"): where the refresh token travels, and who may call
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

    # Rate limits and lockout (README, "Security"): rates are "attempts/window", e.g. 30/10m
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

    # Operating it (README, "Operating it"): /readyz's time budget, /metrics, the log format.
    # /metrics is on in development; in production only with METRICS_TOKEN (then behind it)
    # or an explicit METRICS_ENABLED=true (for a port only Prometheus can reach).
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    metrics_enabled: bool | None = None
    metrics_token: SecretStr | None = None
    log_format: Literal["json", "text"] | None = None  # default: json in production, text in development

    @field_validator("trusted_proxies", "cors_origins", "jwt_verification_key_files", mode="before")
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

    @field_validator("cors_origins")
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

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not re.match(r"^(sqlite|postgres|postgresql|asyncpg)://", self.database_url):
            raise ValueError("DATABASE_URL must start with sqlite:// or postgres://")
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters long")
        if self.lockout_max_delay_seconds < self.lockout_first_delay_seconds:
            raise ValueError("LOCKOUT_MAX_DELAY_SECONDS must not be shorter than LOCKOUT_FIRST_DELAY_SECONDS")
        if self.lockout_hard_limit < self.lockout_free_failures:
            raise ValueError("LOCKOUT_HARD_LIMIT must not be below LOCKOUT_FREE_FAILURES")
        if self.refresh_token_absolute_ttl_seconds < self.refresh_token_idle_ttl_seconds:
            raise ValueError("REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS must not be shorter than the idle lifetime")
        if self.refresh_cookie_samesite == "none" and not self.refresh_cookie_secure:
            raise ValueError("REFRESH_COOKIE_SAMESITE=none needs REFRESH_COOKIE_SECURE=true (browsers insist)")
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 16:
            raise ValueError("METRICS_TOKEN must be at least 16 characters long")
        if self.production:
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
        configured_signing_keys(self)  # unreadable, unfit or clashing keys stop start-up (and `check`)
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


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


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


def server_secret(settings: Settings) -> bytes:
    """JWT_SECRET, or in development one generated once and kept under DATA_DIR."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value().encode()
    path = settings.data_dir / "jwt_secret"
    if _generated_once(path, lambda: secrets.token_urlsafe(48)):
        logger.warning("JWT_SECRET is not set: generated one in %s (development only)", path)
    return path.read_text().strip().encode()


def _generated_once(path: Path, content: Callable[[], str]) -> bool:
    """Write ``content()`` to ``path`` (0600) unless it exists; True if this call wrote it.

    Written aside, then linked into place: a second process starting at the same
    moment reads a whole file, whichever of the two won.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content())
    try:
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink()
    return True


def configured_signing_keys(settings: Settings) -> tuple[AccessTokenKey | None, list[AccessTokenKey]]:
    """The signing key and the verification keys the settings give, read and checked.

    Raises:
        ValueError: naming the variable, for a key that is unreadable, unfit for
            JWT_ALGORITHM, public where it must sign, or sharing a kid with another.
    """
    algorithm = settings.jwt_algorithm
    given = {
        "JWT_SIGNING_KEY": settings.jwt_signing_key is not None,
        "JWT_SIGNING_KEY_FILE": settings.jwt_signing_key_file is not None,
        "JWT_VERIFICATION_KEYS": settings.jwt_verification_keys is not None,
        "JWT_VERIFICATION_KEY_FILES": bool(settings.jwt_verification_key_files),
    }
    if algorithm == "HS256":
        if any(given.values()):
            names = ", ".join(name for name, is_set in given.items() if is_set)
            raise ValueError(f"{names}: JWT_ALGORITHM=HS256 signs with a key derived from JWT_SECRET, not with keys")
        return None, []
    if settings.jwt_signing_key is not None and settings.jwt_signing_key_file is not None:
        raise ValueError("set JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE, not both")
    signer = None
    if settings.jwt_signing_key is not None:
        signer = load_signing_key(settings.jwt_signing_key.get_secret_value(), "JWT_SIGNING_KEY", algorithm)
    elif settings.jwt_signing_key_file is not None:
        source = f"JWT_SIGNING_KEY_FILE {settings.jwt_signing_key_file}"
        signer = load_signing_key(_read_key_file(settings.jwt_signing_key_file, source), source, algorithm)
    verification = []
    if settings.jwt_verification_keys is not None:
        text = settings.jwt_verification_keys.get_secret_value()
        verification += load_keys(text, "JWT_VERIFICATION_KEYS", algorithm)
    for path in settings.jwt_verification_key_files:
        source = f"JWT_VERIFICATION_KEY_FILES {path}"
        verification += load_keys(_read_key_file(path, source), source, algorithm)
    keys_by_kid([signer, *verification] if signer else verification)  # one kid, one key
    return signer, verification


def _read_key_file(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{source}: cannot read it ({exc})") from None


def access_token_keys(settings: Settings, access_token_secret: bytes) -> AccessTokenKeys:
    """The keys of JWT_ALGORITHM: HS256 signs with ``access_token_secret``; the others with
    JWT_SIGNING_KEY(_FILE), or in development with one generated once under DATA_DIR."""
    if settings.jwt_algorithm == "HS256":
        return AccessTokenKeys.symmetric(access_token_secret, "the access-token key derived from JWT_SECRET")
    signer, verification = configured_signing_keys(settings)
    return AccessTokenKeys(signer or _development_signing_key(settings), verification)


def _development_signing_key(settings: Settings) -> AccessTokenKey:
    algorithm = settings.jwt_algorithm
    assert algorithm != "HS256"
    path = settings.data_dir / f"jwt_signing_key.{algorithm}.json"
    if _generated_once(path, lambda: json.dumps(generate_signing_key(algorithm).private_jwk()) + "\n"):
        logger.warning("JWT_SIGNING_KEY is not set: generated an %s key in %s (development only)", algorithm, path)
    return load_signing_key(path.read_text(encoding="utf-8"), str(path), algorithm)


def build_mailer(settings: Settings) -> Mailer:
    if settings.email_backend == "smtp":
        return SmtpMailer(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.email_from,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                starttls=settings.smtp_starttls,
                use_tls=settings.smtp_tls,
                timeout_seconds=settings.smtp_timeout_seconds,
            )
        )
    return ConsoleMailer(settings.email_from)


def build_services(
    settings: Settings,
    mailer: Mailer | None = None,
    clock: Clock | None = None,
    audit_observer: AuditObserver | None = None,
) -> Services:
    """The composition root: every service with its real adapters, from the settings."""
    keys = KeyRing.from_secret(server_secret(settings))
    clock = clock or SystemClock()
    policy = AuthPolicy(
        product_name=settings.product_name,
        otp_lifetime=timedelta(seconds=settings.otp_ttl_seconds),
        unverified_account_lifetime=timedelta(seconds=settings.unverified_account_ttl_seconds),
        refresh_idle_lifetime=timedelta(seconds=settings.refresh_token_idle_ttl_seconds),
        refresh_absolute_lifetime=timedelta(seconds=settings.refresh_token_absolute_ttl_seconds),
        refresh_reuse_grace=timedelta(seconds=settings.refresh_token_reuse_grace_seconds),
    )
    access_tokens = AccessTokenCodec(
        access_token_keys(settings, keys.access_token),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime_seconds=settings.access_token_ttl_seconds,
    )
    return wire_services(
        uow=TortoiseUnitOfWork,
        reads=TortoiseReadOnlyUnitOfWork,
        passwords=BcryptPasswordHasher(settings.bcrypt_cost),
        mailer=mailer or build_mailer(settings),
        clock=clock,
        policy=policy,
        keys=keys,
        access_tokens=access_tokens,
        limits=rate_limits(settings),
        audit_observer=audit_observer,
    )


def rate_limits(settings: Settings) -> RateLimits:
    return RateLimits(
        login_per_ip=settings.rate_limit_login_per_ip,
        verify_per_ip=settings.rate_limit_verify_per_ip,
        verify_per_account=settings.rate_limit_verify_per_account,
        register_per_ip=settings.rate_limit_register_per_ip,
        codes_per_account=settings.rate_limit_codes_per_account,
        codes_per_address=settings.rate_limit_codes_per_address,
        password_checks_per_account=settings.rate_limit_password_checks_per_account,
        password_checks_per_ip=settings.rate_limit_password_checks_per_ip,
        refresh_per_ip=settings.rate_limit_refresh_per_ip,
        refresh_per_account=settings.rate_limit_refresh_per_account,
        code_requests_per_ip=settings.rate_limit_code_requests_per_ip,
        resend_cooldown=timedelta(seconds=settings.otp_resend_cooldown_seconds),
        lockout=LockoutPolicy(
            free_failures=settings.lockout_free_failures,
            first_delay=timedelta(seconds=settings.lockout_first_delay_seconds),
            max_delay=timedelta(seconds=settings.lockout_max_delay_seconds),
            hard_limit=settings.lockout_hard_limit,
        ),
    )


def wire_services(
    *,
    uow: Callable[[], UnitOfWork],
    reads: Callable[[], UnitOfWork] | None = None,
    passwords: PasswordHasher,
    mailer: Mailer,
    clock: Clock,
    policy: AuthPolicy,
    keys: KeyRing,
    access_tokens: AccessTokenCodec,
    limits: RateLimits,
    audit_observer: AuditObserver | None = None,
) -> Services:
    """Every service with the collaborators it is given; unit tests give it fakes.

    ``reads`` serves what needs no transaction: the one query that checks the session of
    every signed-in request (``uow`` when not given).
    """
    refresh_tokens = RefreshTokenMinter(keys.refresh_token)
    codes = OtpCodes(keys.otp)
    mail_queue = MailQueue(mailer)
    audit = AuditTrail(uow, clock, audit_observer)
    throttle = Throttle(uow, keys.throttle, limits, clock, audit)
    tries = CodeTries(throttle, clock, policy)
    checker = OtpChecker(codes, clock, tries)
    otp_sender = OtpSender(codes, tries, mailer, clock, policy, audit)
    sessions = SessionStarter(access_tokens, refresh_tokens, clock, policy)
    password_check = PasswordCheck(uow, passwords, throttle)
    return Services(
        registration=RegistrationService(
            uow, passwords, otp_sender, mailer, mail_queue, clock, policy, throttle, audit
        ),
        verification=VerificationService(uow, passwords, checker, sessions, clock, policy, throttle, audit),
        login=LoginService(uow, passwords, otp_sender, sessions, clock, policy, throttle, audit),
        refresh=RefreshService(uow, refresh_tokens, sessions, clock, policy, throttle, audit),
        identity=IdentityService(reads or uow, access_tokens, clock, policy),
        sessions=SessionService(uow, clock, policy, audit),
        password_reset=PasswordResetService(
            uow, passwords, otp_sender, checker, sessions, mail_queue, clock, policy, throttle, audit
        ),
        account=AccountService(uow, passwords, password_check, mail_queue, clock, policy, audit),
        email_change=EmailChangeService(
            uow, password_check, otp_sender, checker, mailer, mail_queue, policy, throttle, audit
        ),
        throttle=throttle,
        mail_queue=mail_queue,
    )


def _ensure_sqlite_directory(database_url: str) -> None:
    prefix = "sqlite://"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url[len(prefix) :].split("?", 1)[0]).parent.mkdir(parents=True, exist_ok=True)


async def unlock_account(settings: Settings, email: str) -> str | None:
    """End the failed-sign-in streak of ``email``'s account; its address, or ``None`` when no account has it.

    Raises:
        InvalidInput: ``email`` is not an e-mail address.
    """
    errors = InputCollector()
    address = normalise_email(email, errors)
    errors.raise_if_any()
    throttle = build_services(settings).throttle
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(settings.database_url))
        async with TortoiseReadOnlyUnitOfWork() as uow:
            user = await uow.users.get_by_email(address)
        if user is None:
            return None
        await throttle.unlock(email)
        return user.email


async def apply_migrations(database_url: str) -> None:
    _ensure_sqlite_directory(database_url)
    async with TortoiseContext():
        await tortoise_migrate(config=tortoise_config(database_url))


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Gives each request an id (the caller's X-Request-ID when sane) and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings, *, mailer: Mailer | None = None, clock: Clock | None = None) -> Starlette:
    """The ASGI app; tests may hand in their own mailer or clock, everything else is real."""
    database = DatabaseProbe(settings.database_url)
    metrics = GatewayMetrics(database.pool_usage) if settings.serves_metrics else None
    services = build_services(settings, mailer, clock, audit_observer=metrics)
    limits = GraphQLLimits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_directives=settings.graphql_max_directives,
    )
    development = not settings.production
    schema = build_schema(limits, introspection=development, suggestions=development)
    transport = RefreshTokenTransport(
        mode=settings.refresh_token_transport,
        secure=settings.refresh_cookie_secure,
        same_site=settings.refresh_cookie_samesite,
        path=GRAPHQL_PATH,
    )
    graphql = GatewayGraphQL(schema, services, graphiql=development, transport=transport)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await apply_migrations(settings.database_url)
        _ensure_sqlite_directory(settings.database_url)
        # Requests run in other tasks than the lifespan: let them find this context.
        await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
        try:
            yield
        finally:
            await services.mail_queue.drain()  # notices of changes already made
            await Tortoise.close_connections()

    app = Starlette(
        routes=[
            Route(GRAPHQL_PATH, graphql, methods=["GET", "POST"] if development else ["POST"]),
            forward_auth_route(services.identity),  # for reverse proxies: nginx auth_request and the like
            *well_known_routes(services.identity.public_keys(), settings.jwt_issuer, settings.public_url),  # JWKS
            *graphql.ide_routes,  # GraphiQL's scripts and styles, served only with the page (development)
            *health_routes(Readiness(database.problem, timeout_seconds=settings.readiness_timeout_seconds)),
            *([metrics.route(token=_secret(settings.metrics_token))] if metrics else []),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_exception_handler},
    )
    if metrics:
        metrics.know_paths([route.path for route in app.routes if isinstance(route, Route)])
    app.state.services = services  # for operators' tooling and the tests, e.g. to drain the mail queue
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_request_body_bytes,
        csrf_header=CSRF_HEADER if transport.uses_cookie else None,
        graphql_path=GRAPHQL_PATH,
    )
    if settings.cors_origins:
        # Outside the guard, so a preflight (OPTIONS, no body) is answered before the router's 405.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,  # the refresh cookie; Starlette echoes the one allowed origin, never *
            allow_methods=["POST", "GET"] if development else ["POST"],
            allow_headers=["Authorization", "Content-Type", CSRF_HEADER, "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=settings.cors_max_age_seconds,
        )
    app.add_middleware(SecurityHeaders, hsts=settings.production)
    app.add_middleware(RequestLog, metrics=metrics)  # inside RequestIdMiddleware: it logs the request id
    app.add_middleware(RequestIdMiddleware)
    if settings.trusted_proxies:
        # X-Forwarded-For is believed only from these peers: anyone else could forge it.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # What no layer handled: Starlette answers it outside every middleware, so the answer
    # brings the security headers itself.
    app.add_exception_handler(Exception, server_error_handler(hsts=settings.production))
    # No trailing-slash redirects: without PUBLIC_URL their Location would name whatever
    # Host the request carried. /graphql/ is simply not found.
    app.router.redirect_slashes = False
    return app


@functools.cache
def _default_app() -> Starlette:
    return create_app(load_settings())


def __getattr__(name: str) -> object:
    # Built on first access, so importing this module (tests, tools) reads no settings.
    if name == "app":
        return _default_app()
    if name == "TORTOISE_ORM":  # for the `tortoise` CLI: makemigrations, migrate, history
        return tortoise_config(load_settings().database_url)
    raise AttributeError(name)


def generate_key_command(arguments: list[str]) -> None:
    """``generate-key``: a new private key for JWT_SIGNING_KEY(_FILE), printed or written to a new file."""
    parser = argparse.ArgumentParser(prog="python server.py generate-key", description=generate_key_command.__doc__)
    parser.add_argument("--alg", choices=["EdDSA", "ES256", "RS256"], default="EdDSA", help="default: EdDSA")
    parser.add_argument("--format", choices=["jwk", "pem"], default="jwk", help="a JWK with its kid, or PKCS#8 PEM")
    parser.add_argument("--out", type=Path, help="write to this file (created with mode 0600) instead of printing")
    options = parser.parse_args(arguments)
    key = generate_signing_key(options.alg)
    text = json.dumps(key.private_jwk()) + "\n" if options.format == "jwk" else key.private_pem()
    if options.out is None:
        sys.stdout.write(text)
        return
    try:
        fd = os.open(options.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        sys.stderr.write(f"cannot create {options.out}: {exc.strerror} (an existing key is never overwritten)\n")
        raise SystemExit(2) from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    print(f"wrote a private {options.alg} key, kid {key.kid}, to {options.out}")


def unlock_account_command(settings: Settings, arguments: list[str]) -> None:
    """``unlock-account EMAIL``: end the sign-in lockout of the account with this address.

    Exits 2 for bad usage or an address that is not one, 1 when no account has the address.
    (An operator's command: telling whether an account exists is its job.)
    """
    parser = argparse.ArgumentParser(
        prog="python server.py unlock-account", description="End the sign-in lockout of the account with this address."
    )
    parser.add_argument("email", help="the account's e-mail address (any case)")
    email = parser.parse_args(arguments).email
    try:
        unlocked = asyncio.run(unlock_account(settings, email))
    except InvalidInput as exc:
        reasons = "; ".join(error.message for error in exc.errors)
        sys.stderr.write(f"{email!r} is not an e-mail address: {reasons}\n")
        raise SystemExit(2) from None
    if unlocked is None:
        sys.stderr.write(f"no account has the address {email.strip()}: nothing was unlocked\n")
        raise SystemExit(1)
    print(f"sign-in lockout cleared for {unlocked}")


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM while uvicorn's own handler is not in place: before it serves, and after its
    graceful shutdown, when it raises the signal again to die of it. A stop that was asked
    for ends with status 0, as it does for PID 1 in a container (the kernel ignores it there)."""
    raise SystemExit(0)


def main(argv: list[str]) -> None:
    if argv[1:2] == ["generate-key"]:  # before the settings: it makes a key they will name
        generate_key_command(argv[2:])
        return
    settings = load_settings()
    configure_logging(json_lines=settings.json_logs)
    command = argv[1] if len(argv) > 1 else "serve"
    if command == "check":
        print(f"configuration OK ({settings.app_env}, {settings.database_url.split(':', 1)[0]})")
    elif command == "migrate":
        asyncio.run(apply_migrations(settings.database_url))
        print("migrations applied")
    elif command == "unlock-account":
        unlock_account_command(settings, argv[2:])
    elif command == "serve":
        import uvicorn

        signal.signal(signal.SIGTERM, _stopped)
        # Uvicorn's loggers go through ours (log_config=None), and RequestLog replaces its access log.
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            proxy_headers=False,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            http=gateway_http_protocol(hsts=settings.production),  # its own 400s carry our headers too
        )
    else:
        sys.stderr.write(
            f"unknown command {command!r}; use 'serve', 'migrate', 'check', 'unlock-account EMAIL' or 'generate-key'\n"
        )
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv)
