"""Sign-in with an OpenID Connect provider, for single-page apps: no token ever in a URL.

1. ``begin`` (``beginProviderSignIn``): the provider's authorization URL (code flow, PKCE S256,
   ``state`` and ``nonce``), the sign-in kept server-side for ``STATE_LIFETIME`` and bound to the
   browser that asked by a random value in an HttpOnly cookie (kept here as its hash).
2. ``callback`` (``GET /oauth/callback/{provider}``): the state must exist, be unexpired, unused,
   for this provider and from the same browser; the code is exchanged and the ID token checked;
   the browser goes back to the allow-listed return URL with a one-time code (or an error code).
3. ``finish`` (``finishProviderSignIn``): the one-time code (single use, ``CODE_LIFETIME``) for a
   session, the second step of an account with a second factor, or a typed refusal.

Whom the identity signs in (or which account it makes, or why not) is
``ProviderAccounts``' to say.

A row that is read is deleted by that read; the ones nobody came back for go with the
retention job (``domain.retention``).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from domain.entities import (
    UNKNOWN_CLIENT,
    AuditEventType,
    ProviderAssertion,
    ProviderCallbackOutcome,
    ProviderSignInCode,
    ProviderSignInStarted,
    ProviderSignInState,
    ProviderTraits,
)
from domain.errors import (
    EmailAlreadyTaken,
    InvalidProviderCode,
    ProviderRefused,
    ProviderUnavailable,
)
from domain.secrets import secret_hash
from domain.services.refusals import Counted, committing_refusals
from domain.services.throttle import LOGIN_PER_IP
from domain.validation import InputCollector, check_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import Client, MfaRequired, SignedIn, SignInProvider
    from domain.policy import AuthPolicy
    from domain.ports import Clock, IdentityProviders, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.provider_accounts import ProviderAccounts
    from domain.services.throttle import Throttle

STATE_LIFETIME = timedelta(minutes=10)
CODE_LIFETIME = timedelta(minutes=1)
PARAMETER_MAX_LENGTH = 2048  # what a provider sends back (state, code, error); longer is not theirs
SECRET_MAX_LENGTH = 128  # our own random values (the browser's cookie, the one-time code)


class CallbackError:
    """The error codes the callback puts in the return URL (``?error=…``)."""

    INVALID_STATE = "invalid_state"  # unknown, expired, used, another provider's or another browser's
    ACCESS_DENIED = "access_denied"  # the person (or the provider) declined
    PROVIDER_ERROR = "provider_error"  # the provider answered another error, or no code
    PROVIDER_UNAVAILABLE = "provider_unavailable"  # unreachable, too slow, or nonsense
    PROVIDER_REFUSED = "provider_refused"  # the code was refused or the ID token failed a check


def display_name(providers: IdentityProviders, provider: str) -> str:
    """How people know ``provider``: its display name, or its id once it is no longer set up."""
    return next((known.display_name for known in providers.listed() if known.id == provider), provider)


def _provider_error(error: str) -> str:
    return CallbackError.ACCESS_DENIED if error == "access_denied" else CallbackError.PROVIDER_ERROR


def kept_name(raw: str | None) -> str | None:
    """A name the provider gave, if it is one we can keep; otherwise none (never a refusal)."""
    errors = InputCollector()
    name = check_name(raw, errors, "name") if raw else None
    return None if errors.errors else name


def _same_hash(value: str | None, expected_hash: str) -> bool:
    return value is not None and hmac.compare_digest(secret_hash(value), expected_hash)


class ProviderSignInService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        providers: IdentityProviders,
        accounts: ProviderAccounts,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._providers = providers
        self._accounts = accounts
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit

    async def begin(
        self, provider: str, return_url: str, browser_secret: str | None = None, client: Client = UNKNOWN_CLIENT
    ) -> ProviderSignInStarted:
        """Start a sign-in at ``provider`` that ends at ``return_url``.

        ``browser_secret`` is the binding cookie the browser already has (kept, so that two
        sign-ins begun in one browser both work); a new one is made without it.

        Raises:
            InvalidInput: an unknown provider, or a return URL not on the allow-list.
            ProviderUnavailable: the provider's discovery document could not be had.
            RateLimited: too many sign-ins begun from this client.
        """
        await self._throttle.check_client(LOGIN_PER_IP, client)
        errors = InputCollector()
        if not self._providers.known(provider):
            errors.add("provider", "There is no sign-in provider of this name here.")
        if return_url not in self._policy.provider_return_urls:
            errors.add("return_url", "The gateway may not send the browser back to this address (OIDC_RETURN_URLS).")
        errors.raise_if_any()
        if not browser_secret or len(browser_secret) > SECRET_MAX_LENGTH:
            browser_secret = secrets.token_urlsafe(32)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(48)  # 64 characters: RFC 7636 asks for 43 to 128
        url = await self._providers.authorization_url(provider, state, nonce, code_verifier)
        traits = self._providers.traits(provider)
        async with self._uow() as uow:
            await uow.providers.add_state(
                ProviderSignInState(
                    state_hash=secret_hash(state),
                    provider=provider,
                    browser_hash=secret_hash(browser_secret),
                    nonce_hash=secret_hash(nonce),
                    code_verifier=code_verifier,
                    return_url=return_url,
                    expires_at=self._clock.now() + STATE_LIFETIME,
                )
            )
            await uow.commit()
        return ProviderSignInStarted(
            url, browser_secret, int(STATE_LIFETIME.total_seconds()), cross_site_callback=traits.form_post
        )

    async def callback(
        self,
        provider: str,
        state: str | None,
        code: str | None,
        error: str | None,
        browser_secret: str | None,
        client: Client = UNKNOWN_CLIENT,
        *,
        posted: bool = False,
        posted_user: str | None = None,
    ) -> ProviderCallbackOutcome:
        """Where the provider's redirect sends the browser on: never an exception, always a
        return URL of the allow-list with a one-time code or an error code.

        A state that cannot be used (unknown, expired, already used, another provider's,
        another browser's) ends at the first return URL when it names none of its own.
        The state is spent by its first callback, whatever that callback brings. ``posted``: the
        callback came as a form POST, which only a provider that answers so (form_post) may send;
        ``posted_user`` is the ``user`` field of such a POST (Apple's name of the person).
        """
        fallback = self._policy.provider_return_urls[0]
        pending = None
        if state and len(state) <= PARAMETER_MAX_LENGTH:
            async with self._uow() as uow:
                pending = await uow.providers.take_state(secret_hash(state))
                await uow.commit()
        if pending is None and error is not None and not state:
            # Some providers leave the state out of an error (RFC 6749 asks for it): an error
            # carries nothing to steal, so it goes to the first return URL as it is.
            return await self._refused(fallback, _provider_error(error), provider, _provider_error(error), client)
        if pending is None or pending.provider != provider or pending.expires_at <= self._clock.now():
            return await self._refused(fallback, CallbackError.INVALID_STATE, provider, "state", client)
        back = pending.return_url
        traits = self._providers.traits(provider)
        if posted != traits.form_post:  # (and the browser's binding comes the other way)
            return await self._refused(back, CallbackError.INVALID_STATE, provider, "method", client)
        if not _same_hash(browser_secret, pending.browser_hash):
            return await self._refused(back, CallbackError.INVALID_STATE, provider, "browser", client)
        if error is not None:
            return await self._refused(back, _provider_error(error), provider, _provider_error(error), client)
        if not code or len(code) > PARAMETER_MAX_LENGTH:
            return await self._refused(back, CallbackError.PROVIDER_ERROR, provider, "no_code", client)
        try:
            user_field = posted_user if posted_user and len(posted_user) <= PARAMETER_MAX_LENGTH else None
            assertion = await self._providers.redeem(provider, code, pending.code_verifier, user_field)
        except ProviderUnavailable:
            return await self._refused(back, CallbackError.PROVIDER_UNAVAILABLE, provider, "unavailable", client)
        except ProviderRefused as refusal:
            return await self._refused(back, CallbackError.PROVIDER_REFUSED, provider, refusal.reason, client)
        # The nonce ties the ID token to this sign-in: one minted for another cannot be replayed.
        # (Without an ID token, the state and PKCE alone tie the code to it.)
        if traits.id_token and not _same_hash(assertion.nonce, pending.nonce_hash):
            return await self._refused(back, CallbackError.PROVIDER_REFUSED, provider, "nonce", client)
        one_time = secrets.token_urlsafe(32)
        async with self._uow() as uow:
            await uow.providers.add_code(
                ProviderSignInCode(
                    code_hash=secret_hash(one_time),
                    provider=provider,
                    subject=assertion.subject,
                    email=assertion.email,
                    email_verified=assertion.email_verified,
                    expires_at=self._clock.now() + CODE_LIFETIME,
                    given_name=kept_name(assertion.given_name),
                    family_name=kept_name(assertion.family_name),
                )
            )
            await uow.commit()
        return ProviderCallbackOutcome(back, code=one_time)

    async def finish(self, code: str, client: Client = UNKNOWN_CLIENT) -> SignedIn | MfaRequired:
        """Exchange the callback's one-time code for a session (or the second step's ticket).

        Raises:
            InvalidProviderCode: unknown, expired or already used (each code works once).
            ProviderEmailNotVerified: no identity of this subject, and no address to make an account from.
            EmailConfirmationRequired: no identity of this subject, and an address the provider did
                not vouch for: a code went to it (``ProviderEmailConfirmationService.confirm``).
            LinkRequired: an account has the asserted address but is not linked to this identity.
            RateLimited: too many tries from this client.
        """
        await self._throttle.check_client(LOGIN_PER_IP, client)
        if not code or len(code) > SECRET_MAX_LENGTH:
            raise InvalidProviderCode
        try:
            return await self._finish(code, client)
        except EmailAlreadyTaken:
            # A concurrent sign-in made the account or linked the identity first: now it is found.
            return await self._finish(code, client)

    async def _finish(self, code: str, client: Client) -> SignedIn | MfaRequired:
        async with self._uow() as uow, committing_refusals(uow):
            pending = await uow.providers.take_code(secret_hash(code))
            if pending is None or pending.expires_at <= self._clock.now():
                raise Counted(InvalidProviderCode())  # spent all the same
            asserted = ProviderAssertion(
                pending.provider,
                pending.subject,
                pending.email,
                pending.email_verified,
                nonce=None,
                given_name=pending.given_name,
                family_name=pending.family_name,
            )
            signed_in = await self._accounts.sign_in(uow, asserted, client)
            await uow.commit()
        return signed_in

    async def _refused(
        self, return_url: str, error: str, provider: str, reason: str, client: Client
    ) -> ProviderCallbackOutcome:
        detail = f"{provider[:32]}:{reason}"[:64]
        await self._audit.record_alone(AuditEventType.PROVIDER_SIGN_IN_FAILED, client, None, detail)
        return ProviderCallbackOutcome(return_url, error=error)


class NoIdentityProviders:
    """The providers of a gateway that has none set up: every name is unknown."""

    def known(self, provider: str) -> bool:
        return False

    def listed(self) -> tuple[SignInProvider, ...]:
        return ()

    def links_verified_email(self, provider: str) -> bool:
        return False

    def traits(self, provider: str) -> ProviderTraits:
        return ProviderTraits()

    async def authorization_url(self, provider: str, state: str, nonce: str, code_verifier: str) -> str:
        raise ProviderUnavailable

    async def redeem(
        self, provider: str, code: str, code_verifier: str, posted_user: str | None = None
    ) -> ProviderAssertion:
        raise ProviderUnavailable

    async def verify_id_token(self, provider: str, id_token: str) -> ProviderAssertion:
        raise ProviderUnavailable
