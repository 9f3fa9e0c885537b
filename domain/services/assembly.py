"""Every domain service wired to the collaborators it is given: the app gives it the real
adapters (``wiring.build_services``), the unit tests give it fakes. No adapter, ORM or
framework is imported here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.devices import DeviceFingerprints
from domain.otp import OtpCodes
from domain.refresh_tokens import RefreshTokenMinter
from domain.services import Services
from domain.services.account import AccountService
from domain.services.audit import AuditTrail
from domain.services.code_sign_in import CodeSignInService
from domain.services.code_tries import CodeTries
from domain.services.data_export import DataExportService
from domain.services.email_change import EmailChangeService
from domain.services.id_token_sign_in import IdTokenSignInService
from domain.services.identity import IdentityService
from domain.services.login import LoginService
from domain.services.mail_dispatcher import MailDispatcher, OutboxPolicy
from domain.services.otp_checker import OtpChecker
from domain.services.otp_sender import OtpSender
from domain.services.outbox import SealedOutbox
from domain.services.passkeys import PasskeyService
from domain.services.password_check import PasswordCheck
from domain.services.password_reset import PasswordResetService
from domain.services.provider_accounts import ProviderAccounts
from domain.services.provider_email_confirmation import ProviderEmailConfirmations, ProviderEmailConfirmationService
from domain.services.provider_links import ProviderLinkService
from domain.services.provider_sign_in import NoIdentityProviders, ProviderSignInService
from domain.services.recovery_codes import RecoveryCodeBook
from domain.services.refresh import RefreshService
from domain.services.registration import RegistrationService
from domain.services.second_factors import SecondFactorService
from domain.services.session_starter import SessionStarter
from domain.services.sessions import SessionService
from domain.services.throttle import Throttle
from domain.services.verification import VerificationService
from domain.services.webhooks import WebhookAnnouncer

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from domain.entities import WebhookEndpoint
    from domain.policy import AuthPolicy
    from domain.ports import (
        AccessTokenCodec,
        AuditObserver,
        Clock,
        IdentityProviders,
        Mailer,
        Outbox,
        PasskeyCeremonies,
        PasswordHasher,
        SecretSealer,
        TotpAlgorithm,
        UnitOfWork,
        WebhookSender,
    )
    from domain.secrets import KeyRing
    from domain.services.mail_dispatcher import OutboxObserver
    from domain.services.throttle import RateLimits


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
    totp: TotpAlgorithm,
    sealer: SecretSealer,
    ceremonies: PasskeyCeremonies,
    audit_observer: AuditObserver | None = None,
    providers: IdentityProviders | None = None,
    outbox_sealer: SecretSealer | None = None,
    outbox_policy: OutboxPolicy | None = None,
    outbox_observer: OutboxObserver | None = None,
    outbox: Outbox | None = None,
    webhook_endpoints: Sequence[WebhookEndpoint] = (),
    webhooks: WebhookSender | None = None,
) -> Services:
    """Every service with the collaborators it is given; unit tests give it fakes.

    ``reads`` serves what needs no transaction: the one query that checks the session of
    every signed-in request, a counter's hit, a refresh's read and its compare-and-set write
    (``uow`` when not given). ``providers``: the OpenID Connect
    providers set up (none when not given). ``outbox_sealer`` seals the mails waiting in the
    outbox (``sealer`` when not given); ``outbox`` replaces the sealed outbox (unit tests).
    ``webhook_endpoints`` get the account's events, sent by ``webhooks`` (none when not given).
    """
    refresh_tokens = RefreshTokenMinter(keys.refresh_token)
    codes = OtpCodes(keys.otp)
    outbox_sealer = outbox_sealer or sealer
    dispatcher = MailDispatcher(
        uow, mailer, outbox_sealer, clock, outbox_policy or OutboxPolicy(), outbox_observer, webhooks=webhooks
    )
    outbox = outbox or SealedOutbox(outbox_sealer, clock, dispatcher.wake)
    providers = providers or NoIdentityProviders()
    announcer = WebhookAnnouncer(webhook_endpoints, outbox_sealer, clock, dispatcher.wake)
    audit = AuditTrail(uow, clock, audit_observer, announcer)
    throttle = Throttle(uow, keys.throttle, limits, clock, audit, statements=reads)
    tries = CodeTries(throttle, clock, policy)
    checker = OtpChecker(codes, clock, tries)
    otp_sender = OtpSender(codes, tries, outbox, clock, policy, audit)
    sessions = SessionStarter(
        access_tokens, refresh_tokens, clock, policy, outbox, DeviceFingerprints(keys.known_device)
    )
    password_check = PasswordCheck(uow, passwords, throttle, clock, policy)
    recovery_codes = RecoveryCodeBook(keys.recovery_code)
    passkeys = PasskeyService(
        uow, ceremonies, password_check, recovery_codes, sessions, outbox, clock, policy, throttle, audit
    )
    second_factors = SecondFactorService(
        uow,
        totp,
        sealer,
        recovery_codes,
        password_check,
        passkeys,
        sessions,
        outbox,
        clock,
        policy,
        throttle,
        audit,
    )
    confirmations = ProviderEmailConfirmations(codes, providers, outbox, clock, policy, throttle, audit)
    provider_accounts = ProviderAccounts(
        providers, sessions, second_factors, confirmations, outbox, clock, policy, audit
    )
    return Services(
        registration=RegistrationService(uow, passwords, otp_sender, outbox, clock, policy, throttle, audit),
        verification=VerificationService(uow, passwords, checker, sessions, clock, policy, throttle, audit),
        login=LoginService(
            uow, passwords, otp_sender, sessions, second_factors, clock, policy, throttle, audit, statements=reads
        ),
        refresh=RefreshService(uow, refresh_tokens, sessions, clock, policy, throttle, audit, statements=reads),
        identity=IdentityService(reads or uow, access_tokens, clock, policy),
        sessions=SessionService(uow, clock, policy, audit),
        password_reset=PasswordResetService(
            uow, passwords, otp_sender, checker, sessions, second_factors, outbox, clock, policy, throttle, audit
        ),
        code_sign_in=CodeSignInService(
            uow, otp_sender, checker, sessions, second_factors, clock, policy, throttle, audit
        ),
        account=AccountService(uow, passwords, password_check, outbox, clock, policy, audit),
        email_change=EmailChangeService(
            uow, password_check, otp_sender, checker, outbox, clock, policy, throttle, audit
        ),
        second_factors=second_factors,
        passkeys=passkeys,
        provider_sign_in=ProviderSignInService(uow, providers, provider_accounts, clock, policy, throttle, audit),
        id_token_sign_in=IdTokenSignInService(uow, providers, provider_accounts, throttle, audit),
        provider_email_confirmation=ProviderEmailConfirmationService(
            uow, codes, provider_accounts, clock, policy, throttle, audit
        ),
        provider_links=ProviderLinkService(uow, providers, password_check, outbox, clock, policy, audit),
        throttle=throttle,
        mail_dispatcher=dispatcher,
        data_export=DataExportService(uow, clock, policy),
        mail_locales=policy.mail_locales,
    )
