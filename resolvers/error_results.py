"""The one mapping from the domain's expected failures to the members of the result unions.

A resolver hands every ``AuthError`` to ``error_result`` with its result union; the member
that stands for the failure is the first of its candidates the union has (a wrong password
is ``InvalidCredentials`` for ``login``, ``WrongPassword`` for a signed-in operation). A
failure the union has no member for is a bug: it is raised again, and masked.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

from domain import errors
from resolvers import types
from resolvers.unauthenticated import unauthenticated

if TYPE_CHECKING:
    from collections.abc import Callable

_Candidates = tuple[tuple[type, "Callable[[Any], object]"], ...]

CANDIDATES: dict[type[errors.AuthError], _Candidates] = {
    errors.InvalidInput: ((types.InvalidInput, types.InvalidInput.from_domain),),
    errors.InvalidCredentials: (
        (types.InvalidCredentials, lambda _: types.InvalidCredentials()),
        (types.WrongPassword, lambda _: types.WrongPassword()),
    ),
    errors.EmailNotVerified: ((types.EmailNotVerified, lambda failure: types.EmailNotVerified(email=failure.email)),),
    errors.InvalidOtp: ((types.InvalidOtp, lambda _: types.InvalidOtp()),),
    errors.OtpExpired: ((types.OtpExpired, lambda _: types.OtpExpired()),),
    errors.TooManyAttempts: ((types.TooManyAttempts, lambda _: types.TooManyAttempts()),),
    errors.InvalidRefreshToken: ((types.InvalidRefreshToken, lambda _: types.InvalidRefreshToken()),),
    errors.DeliveryFailed: ((types.DeliveryFailed, lambda _: types.DeliveryFailed()),),
    errors.RateLimited: ((types.RateLimited, types.RateLimited.from_domain),),
    errors.SessionNotFound: ((types.SessionNotFound, lambda _: types.SessionNotFound()),),
    errors.InvalidTicket: ((types.InvalidTicket, lambda _: types.InvalidTicket()),),
    errors.SecondFactorAlreadyEnabled: (
        (types.SecondFactorAlreadyEnabled, lambda _: types.SecondFactorAlreadyEnabled()),
    ),
    errors.SecondFactorNotEnabled: ((types.SecondFactorNotEnabled, lambda _: types.SecondFactorNotEnabled()),),
    errors.InvalidPasskey: ((types.InvalidPasskey, lambda _: types.InvalidPasskey()),),
    errors.PasskeyNotFound: ((types.PasskeyNotFound, lambda _: types.PasskeyNotFound()),),
    errors.SecondFactorsOff: ((types.SecondFactorsOff, lambda _: types.SecondFactorsOff()),),
    errors.SecondFactorRequired: ((types.SecondFactorRequired, lambda _: types.SecondFactorRequired()),),
    errors.ReauthenticationRequired: ((types.ReauthenticationRequired, lambda _: types.ReauthenticationRequired()),),
    errors.ProviderUnavailable: ((types.ProviderUnavailable, lambda _: types.ProviderUnavailable()),),
    errors.InvalidProviderCode: ((types.InvalidProviderCode, lambda _: types.InvalidProviderCode()),),
    errors.LinkRequired: (
        (
            types.LinkRequired,
            lambda failure: types.LinkRequired(provider=failure.provider, link_token=failure.link_token),
        ),
    ),
    errors.InvalidLinkToken: ((types.InvalidLinkToken, lambda _: types.InvalidLinkToken()),),
    errors.ProviderAlreadyLinked: ((types.ProviderAlreadyLinked, lambda _: types.ProviderAlreadyLinked()),),
    errors.ProviderNotLinked: ((types.ProviderNotLinked, lambda _: types.ProviderNotLinked()),),
    errors.LastSignInMethod: ((types.LastSignInMethod, lambda _: types.LastSignInMethod()),),
    errors.ProviderEmailNotVerified: ((types.ProviderEmailNotVerified, lambda _: types.ProviderEmailNotVerified()),),
    errors.InvalidIdToken: ((types.InvalidIdToken, lambda _: types.InvalidIdToken()),),
    errors.EmailConfirmationRequired: (
        (
            types.EmailConfirmationRequired,
            lambda failure: types.EmailConfirmationRequired(
                ticket=failure.ticket, email=failure.email, expires_at=failure.expires_at
            ),
        ),
    ),
}


def members(result: object) -> tuple[type, ...]:
    """The member types of a result union declared as ``Annotated[A | B, strawberry.union(...)]``."""
    union = typing.get_args(result)[0] if typing.get_origin(result) is typing.Annotated else result
    return typing.get_args(union)


def error_result(failure: errors.AuthError, result: object) -> Any:
    """The member of ``result`` (an operation's result union) that stands for ``failure``.

    Raises:
        GraphQLError: UNAUTHENTICATED, for a token whose session or account ended meanwhile.
        AuthError: ``failure`` itself, when ``result`` has no member for it.
    """
    if isinstance(failure, errors.InvalidAccessToken):
        raise unauthenticated() from None
    offered = members(result)
    for member, make in CANDIDATES.get(type(failure), ()):
        if member in offered:
            return make(failure)
    raise failure
