"""The composition root: every service with its real adapters, from the settings.

Framework-free (no web stack): ``python server.py check`` and the other commands import it
without Starlette, Strawberry or uvicorn. The services themselves are wired by
``domain.services.assembly.wire_services``, which the unit tests call with fakes.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from domain.clock import SystemClock
from domain.entities import WebhookEndpoint
from domain.policy import AuthPolicy
from domain.rate_limiting import LockoutPolicy
from domain.retention import RetentionPolicy
from domain.secrets import KeyRing
from domain.services.assembly import wire_services
from domain.services.mail_dispatcher import OutboxPolicy
from domain.services.retention import RetentionJob
from domain.services.throttle import RateLimits
from key_files import access_token_keys, server_secret
from mail.catalogs import shipped_locales
from mail.console import ConsoleMailer
from mail.render import MailRenderer
from mail.smtp import SmtpConfig, SmtpMailer
from oidc.config import ProviderConfig
from persistence.database import Database
from persistence.retention import TortoiseRetentionStore
from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork, TortoiseUnitOfWork
from security.access_tokens import AccessTokenCodec
from security.passkeys import WebAuthnCeremonies
from security.passwords import BcryptPasswordHasher
from security.sealing import AesGcmSealer
from security.totp import Totp
from settings import (
    PROVIDER_DISPLAY_NAMES,
    AppleProviderSetting,
    GitHubProviderSetting,
    MicrosoftProviderSetting,
)

if TYPE_CHECKING:
    from domain.ports import AuditObserver, Clock, Mailer
    from domain.services import Services
    from domain.services.mail_dispatcher import OutboxObserver
    from oidc.providers import OpenIdProviders  # loaded only when configured (see webhook_sender)
    from settings import ProviderSetting, Settings
    from webhooks.sender import StandardWebhookSender


def mail_renderer(settings: Settings) -> MailRenderer:
    """The mail's templates in every shipped language; ``ValueError`` if DEFAULT_LOCALE is not one of them."""
    return _mail_renderer(settings.default_locale)


@functools.cache
def _mail_renderer(default_locale: str) -> MailRenderer:
    # One per process for each default language: compiling the catalogs and the templates is
    # what a renderer costs (a few milliseconds a language), and it keeps nothing else.
    return MailRenderer(default_locale=default_locale)


def build_mailer(settings: Settings) -> Mailer:
    renderer = mail_renderer(settings)
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
            ),
            renderer,
        )
    return ConsoleMailer(settings.email_from, renderer=renderer)


def build_services(
    settings: Settings,
    mailer: Mailer | None = None,
    clock: Clock | None = None,
    audit_observer: AuditObserver | None = None,
    outbox_observer: OutboxObserver | None = None,
) -> Services:
    """The composition root: every service with its real adapters, from the settings."""
    keys = KeyRing.from_secret(server_secret(settings))
    clock = clock or SystemClock()
    policy = auth_policy(settings)
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
        totp=Totp(),
        ceremonies=WebAuthnCeremonies(settings.passkey_rp_id, settings.product_name, settings.passkey_origins),
        sealer=AesGcmSealer(keys.factor_secret),
        audit_observer=audit_observer,
        providers=identity_providers(settings),
        outbox_sealer=AesGcmSealer(keys.mail_outbox),
        outbox_policy=outbox_policy(settings),
        outbox_observer=outbox_observer,
        webhook_endpoints=webhook_endpoints(settings),
        webhooks=webhook_sender(settings),
    )


def webhook_endpoints(settings: Settings) -> list[WebhookEndpoint]:
    """The endpoints of WEBHOOK_ENDPOINTS as the domain sees them: which events each wants."""
    return [
        WebhookEndpoint(endpoint, None if setting.events == "all" else frozenset(setting.events))
        for endpoint, setting in settings.webhook_endpoints.items()
    ]


def webhook_sender(settings: Settings) -> StandardWebhookSender | None:
    if not settings.webhook_endpoints:
        return None
    # Loaded only when configured, as the providers' adapters are: a few MiB of HTTP and
    # signing code that a gateway without webhooks never runs.
    from webhooks.sender import EndpointTarget, StandardWebhookSender

    targets = {
        endpoint: EndpointTarget(setting.url, setting.secret.get_secret_value())
        for endpoint, setting in settings.webhook_endpoints.items()
    }
    # the real time, whatever clock the services run on: receivers check it against theirs
    return StandardWebhookSender(
        targets, settings.webhook_timeout_seconds, SystemClock().now, user_agent=settings.product_name
    )


def outbox_policy(settings: Settings) -> OutboxPolicy:
    return OutboxPolicy(
        max_attempts=settings.outbox_max_attempts,
        retry_base=timedelta(seconds=settings.outbox_retry_base_seconds),
        retry_max=timedelta(seconds=settings.outbox_retry_max_seconds),
        claim_lease=timedelta(seconds=settings.outbox_claim_lease_seconds),
        poll_interval=timedelta(seconds=settings.outbox_poll_seconds),
        batch_size=settings.outbox_batch_size,
    )


def checked_default_locale(default_locale: str, languages: tuple[str, ...]) -> str:
    if default_locale not in languages:
        raise ValueError(f"DEFAULT_LOCALE={default_locale!r} ships no mail catalog: use one of {', '.join(languages)}")
    return default_locale


def identity_providers(settings: Settings) -> OpenIdProviders | None:
    """The providers of OIDC_PROVIDERS, or ``None`` when there are none.

    Raises:
        ValueError: an Apple provider's private key cannot be read or is not an EC P-256 key.
    """
    if not settings.oidc_providers:
        return None
    from oidc.providers import OpenIdProviders  # loaded only when configured (see webhook_sender)

    configs = [provider_config(provider, setting) for provider, setting in settings.oidc_providers.items()]
    return OpenIdProviders(configs, settings.oidc_callback_url, settings.oidc_timeout_seconds)


def provider_config(provider: str, setting: ProviderSetting) -> ProviderConfig:
    """One provider's setting, its preset filled in, for the adapter."""
    secret = getattr(setting, "client_secret", None)  # Apple has none: the gateway signs one with the key
    config = ProviderConfig(
        id=provider,
        issuer=getattr(setting, "issuer", ""),
        client_id=setting.client_id,
        client_secret=secret.get_secret_value() if secret is not None else "",
        scopes=tuple(setting.scopes),
        display_name=setting.display_name or PROVIDER_DISPLAY_NAMES.get(setting.kind, provider),
        auto_link_verified_email=setting.auto_link_verified_email,
        kind=setting.kind,
        id_token_audiences=tuple(getattr(setting, "id_token_audiences", ())),  # GitHub has no ID tokens
    )
    if isinstance(setting, MicrosoftProviderSetting):
        issuer = f"{setting.authority.rstrip('/')}/{setting.tenant}/v2.0"
        return replace(
            config, issuer=issuer, allowed_tenants=tuple(setting.allowed_tenants), trust_email=setting.trust_email
        )
    if isinstance(setting, AppleProviderSetting):
        return replace(
            config,
            apple_team_id=setting.team_id,
            apple_key_id=setting.key_id,
            apple_private_key=_apple_private_key(provider, setting),
        )
    if isinstance(setting, GitHubProviderSetting):
        return replace(config, issuer=setting.url, api_url=setting.api_url)
    return config


def _apple_private_key(provider: str, setting: AppleProviderSetting) -> str:
    if setting.private_key is not None:
        return setting.private_key.get_secret_value()
    assert setting.private_key_file is not None  # the setting has one of the two
    try:
        return setting.private_key_file.read_text()
    except (OSError, UnicodeDecodeError) as failure:
        raise ValueError(
            f"OIDC_PROVIDERS[{provider}]: cannot read private_key_file {setting.private_key_file}: "
            f"{failure.__class__.__name__}"
        ) from None


def auth_policy(settings: Settings) -> AuthPolicy:
    return AuthPolicy(
        product_name=settings.product_name,
        otp_lifetime=timedelta(seconds=settings.otp_ttl_seconds),
        unverified_account_lifetime=timedelta(seconds=settings.unverified_account_ttl_seconds),
        refresh_idle_lifetime=timedelta(seconds=settings.refresh_token_idle_ttl_seconds),
        refresh_absolute_lifetime=timedelta(seconds=settings.refresh_token_absolute_ttl_seconds),
        refresh_reuse_grace=timedelta(seconds=settings.refresh_token_reuse_grace_seconds),
        reauthentication_window=timedelta(seconds=settings.reauthentication_window_seconds),
        second_factors=settings.second_factor_policy,
        provider_return_urls=tuple(settings.oidc_return_urls),
        sign_in_code_creates_accounts=settings.sign_in_code_creates_accounts,
        sign_in_link_url=settings.sign_in_link_url,
        new_device_notices=settings.new_device_notices,
        mail_locales=(languages := shipped_locales()),
        default_locale=checked_default_locale(settings.default_locale, languages),
    )


def build_retention_job(settings: Settings, clock: Clock | None = None) -> RetentionJob:
    """The job that deletes what is past its time (run by the server's lifespan and ``python server.py purge``)."""
    policy = RetentionPolicy(
        ended_session_grace=timedelta(days=settings.retention_ended_session_days),
        audit_lifetime=timedelta(days=settings.retention_audit_days) if settings.retention_audit_days else None,
        outbox_sent_lifetime=timedelta(days=settings.retention_outbox_sent_days),
        outbox_dead_lifetime=timedelta(days=settings.retention_outbox_dead_days),
        known_device_lifetime=timedelta(days=settings.retention_known_device_days),
        batch_size=settings.retention_batch_size,
    )
    return RetentionJob(TortoiseRetentionStore(), clock or SystemClock(), policy, auth_policy(settings))


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


def database_of(settings: Settings) -> Database:
    """The gateway's database, as the settings describe it (opened and closed by the app's lifespan)."""
    return Database(settings.database_url, migrate_on_start=settings.migrate_on_start)
