"""Every failure a caller is expected to handle, under one base class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


class AuthError(Exception):
    """Base of every expected failure; anything else is a bug."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; ``field`` uses the domain's names."""

    field: str
    message: str


class InvalidInput(AuthError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = tuple(errors)

    @classmethod
    def one(cls, field: str, message: str) -> InvalidInput:
        return cls([FieldError(field, message)])


class InvalidCredentials(AuthError):
    pass


class EmailNotVerified(AuthError):
    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.email = email


class InvalidOtp(AuthError):
    pass


class OtpExpired(AuthError):
    pass


class TooManyAttempts(AuthError):
    pass


class InvalidRefreshToken(AuthError):
    pass


class InvalidAccessToken(AuthError):
    """The bearer token is malformed, forged, expired or of the wrong kind."""


class DeliveryFailed(AuthError):
    """The mail server could not take the message, or a webhook endpoint did not take the event."""


class RateLimited(AuthError):
    """Too many attempts; ``retry_after_seconds`` says when the next one is allowed.

    ``locked`` means the account has had so many failed sign-ins in a row that
    waiting alone will not do: only a password reset or an operator unlocks it.
    """

    def __init__(self, retry_after_seconds: int, *, locked: bool = False) -> None:
        super().__init__(f"retry after {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds
        self.locked = locked


class SessionNotFound(AuthError):
    """No live session of the caller's account has this id."""


class EmailAlreadyTaken(AuthError):
    """Raised by a repository when a concurrent request created the same account."""


class InvalidTicket(AuthError):
    """The sign-in ticket is unknown, expired, already used or out of tries: sign in again."""


class SecondFactorAlreadyEnabled(AuthError):
    """The account already has an authenticator app; remove it before setting up another."""


class ReauthenticationRequired(AuthError):
    """The account has a second factor, and this session has not proved it lately: ``reauthenticate``."""


class InvalidPasskey(AuthError):
    """The passkey's answer was not accepted: malformed, for another site or challenge, an
    unknown credential, no user verification, or a counter that went backwards."""


class PasskeyNotFound(AuthError):
    """None of the signed-in account's passkeys has this id."""


class SecondFactorsOff(AuthError):
    """This gateway does not offer second factors (SECOND_FACTOR_POLICY=off)."""


class SecondFactorRequired(AuthError):
    """This gateway requires a second factor: the account may not be without one."""


class SecondFactorNotEnabled(AuthError):
    """The account has no second factor to confirm, remove or make recovery codes for."""


class ProviderUnavailable(AuthError):
    """The provider could not be reached in time, or answered with something unusable."""


class ProviderRefused(AuthError):
    """The provider refused the code, or its ID token failed a check; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidProviderCode(AuthError):
    """The one-time code of a provider sign-in is unknown, expired or already used: start again."""


class LinkRequired(AuthError):
    """The provider asserted the address of an existing account that this identity is not linked
    to: it is never linked silently. ``link_token`` links it once a session of that account
    redeems it (``ProviderLinkService.link``)."""

    def __init__(self, provider: str, link_token: str | None = None) -> None:
        super().__init__(provider)
        self.provider = provider
        self.link_token = link_token


class InvalidLinkToken(AuthError):
    """The link token is unknown, expired, already used, or not for the signed-in account."""


class ProviderAlreadyLinked(AuthError):
    """The identity is linked to an account already, or the account has an identity at this
    provider already (unlink it first)."""


class ProviderNotLinked(AuthError):
    """The account has no identity at this provider."""


class LastSignInMethod(AuthError):
    """Removing this would leave the account with no way in: no password, no passkey and no
    other provider identity."""


class ProviderEmailNotVerified(AuthError):
    """The provider asserted no usable address: no account is made from it."""


class InvalidIdToken(AuthError):
    """An ID token given to the gateway failed a check (signature, issuer, audience, times,
    nonce) or was given before; ``reason`` (for the audit log) says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmailConfirmationRequired(AuthError):
    """The provider did not vouch for the address of a first sign-in: a code went to it, and
    ``ticket`` with that code finishes the sign-in (``ProviderEmailConfirmationService.confirm``)."""

    def __init__(self, ticket: str, email: str, expires_at: datetime) -> None:
        super().__init__(email)
        self.ticket = ticket
        self.email = email
        self.expires_at = expires_at
