"""Stateless services: each receives its collaborators and owns one use case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.services.account import AccountService
    from domain.services.code_sign_in import CodeSignInService
    from domain.services.data_export import DataExportService
    from domain.services.email_change import EmailChangeService
    from domain.services.id_token_sign_in import IdTokenSignInService
    from domain.services.identity import IdentityService
    from domain.services.login import LoginService
    from domain.services.mail_dispatcher import MailDispatcher
    from domain.services.passkeys import PasskeyService
    from domain.services.password_reset import PasswordResetService
    from domain.services.provider_email_confirmation import ProviderEmailConfirmationService
    from domain.services.provider_links import ProviderLinkService
    from domain.services.provider_sign_in import ProviderSignInService
    from domain.services.refresh import RefreshService
    from domain.services.registration import RegistrationService
    from domain.services.second_factors import SecondFactorService
    from domain.services.sessions import SessionService
    from domain.services.throttle import Throttle
    from domain.services.verification import VerificationService


@dataclass(frozen=True)
class Services:
    """The use cases the API offers, built once by ``wiring`` with real adapters (tests: with fakes)."""

    registration: RegistrationService
    verification: VerificationService
    login: LoginService
    refresh: RefreshService
    identity: IdentityService
    sessions: SessionService
    password_reset: PasswordResetService
    code_sign_in: CodeSignInService
    account: AccountService
    email_change: EmailChangeService
    second_factors: SecondFactorService
    passkeys: PasskeyService
    provider_sign_in: ProviderSignInService
    id_token_sign_in: IdTokenSignInService
    provider_email_confirmation: ProviderEmailConfirmationService
    provider_links: ProviderLinkService
    throttle: Throttle
    mail_dispatcher: MailDispatcher
    data_export: DataExportService
    # the languages mails are written in: the web layer picks the caller's among them
    mail_locales: tuple[str, ...]
