"""The composition root: every service with its real adapters, from the settings.

Framework-free (no web stack): ``python server.py check``, the other commands and the
unit tests import it without Starlette, Strawberry or uvicorn. Unit tests call
``wire_services`` with fakes, the same wiring the app uses.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from tortoise import Tortoise

from domain.clock import SystemClock
from domain.otp import OtpCodes
from domain.policy import AuthPolicy
from domain.rate_limiting import LockoutPolicy
from domain.refresh_tokens import RefreshTokenMinter
from domain.secrets import KeyRing
from domain.services import Services
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
from key_files import access_token_keys, server_secret
from mail.console import ConsoleMailer
from mail.smtp import SmtpConfig, SmtpMailer
from persistence.config import tortoise_config
from persistence.migrate import apply_migrations, ensure_sqlite_directory
from persistence.probe import DatabaseProbe
from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork, TortoiseUnitOfWork
from security.access_tokens import AccessTokenCodec
from security.passwords import BcryptPasswordHasher

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.ports import AuditObserver, Clock, Mailer, PasswordHasher, UnitOfWork
    from settings import Settings


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


class Database:
    """The gateway's database: migrated (``migrate_on_start``) and opened when the app starts,
    closed when it stops, and probed for readiness and the connection pool's use."""

    def __init__(self, database_url: str, *, migrate_on_start: bool) -> None:
        self._url = database_url
        self._migrate_on_start = migrate_on_start
        self.probe = DatabaseProbe(database_url)

    async def open(self) -> None:
        if self._migrate_on_start:
            await apply_migrations(self._url)
        ensure_sqlite_directory(self._url)
        # Requests run in other tasks than the lifespan: let them find this context.
        await Tortoise.init(config=tortoise_config(self._url), _enable_global_fallback=True)

    async def close(self) -> None:
        await Tortoise.close_connections()
