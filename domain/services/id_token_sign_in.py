"""Sign-in with an ID token a client got from the provider itself (a native app's SDK, Google
One Tap): ``signInWithIdToken``.

The ID token passes the callback's checks (``IdentityProviders.verify_id_token``: the provider's
signature, ``iss``, ``aud``/``azp`` our client id or one of the provider's
``id_token_audiences``, ``exp``, ``iat``), and its ``nonce`` must be the one the client gives:
the client made it for this sign-in and handed it to the provider, so a token minted for another
sign-in (or lifted from another app of the same provider) is no use. The nonce is required.
Each token works once: its SHA-256 is kept until the token would no longer pass the checks.
What the identity then signs in (or makes, or why not) is ``ProviderAccounts``' to say, as for
the callback's code.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, NoReturn

from domain.entities import UNKNOWN_CLIENT, AuditEventType
from domain.errors import EmailAlreadyTaken, InvalidIdToken, ProviderRefused
from domain.secrets import secret_hash
from domain.services.refusals import committing_refusals
from domain.services.throttle import LOGIN_PER_IP
from domain.validation import InputCollector

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import Client, MfaRequired, ProviderAssertion, SignedIn
    from domain.ports import IdentityProviders, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.provider_accounts import ProviderAccounts
    from domain.services.throttle import Throttle

ID_TOKEN_MAX_LENGTH = 16 * 1024  # far more than any provider's; longer is not an ID token
NONCE_MAX_LENGTH = 256


class IdTokenSignInService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        providers: IdentityProviders,
        accounts: ProviderAccounts,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._providers = providers
        self._accounts = accounts
        self._throttle = throttle
        self._audit = audit

    async def sign_in(
        self, provider: str, id_token: str, nonce: str, client: Client = UNKNOWN_CLIENT
    ) -> SignedIn | MfaRequired:
        """Sign in with ``id_token`` from ``provider``, minted with ``nonce``; the answers are
        ``finishProviderSignIn``'s.

        Raises:
            InvalidInput: an unknown provider or one without ID tokens (GitHub), or no nonce (or one too long).
            InvalidIdToken: the token failed a check, its nonce is another, or it was given before.
            ProviderUnavailable: the provider's keys could not be had.
            ProviderEmailNotVerified, EmailConfirmationRequired, LinkRequired: see ``ProviderAccounts.sign_in``.
            RateLimited: too many sign-ins from this client, or codes to the address.
        """
        await self._throttle.check_client(LOGIN_PER_IP, client)
        errors = InputCollector()
        if not self._providers.known(provider):
            errors.add("provider", "There is no sign-in provider of this name here.")
        elif not self._providers.traits(provider).id_token:
            errors.add("provider", "This provider issues no ID tokens: sign in with it through startProviderSignIn.")
        if not nonce or len(nonce) > NONCE_MAX_LENGTH:
            errors.add("nonce", f"Give the nonce the ID token was requested with (1 to {NONCE_MAX_LENGTH} characters).")
        errors.raise_if_any()
        asserted = await self._checked(provider, id_token, nonce, client)
        token_hash = secret_hash(id_token)
        try:
            return await self._sign_in(asserted, token_hash, client)
        except EmailAlreadyTaken:
            # A concurrent sign-in made the account or linked the identity first (and this
            # attempt's spending of the token was rolled back with it): now it is found.
            return await self._sign_in(asserted, token_hash, client)

    async def _checked(self, provider: str, id_token: str, nonce: str, client: Client) -> ProviderAssertion:
        try:
            if not id_token or len(id_token) > ID_TOKEN_MAX_LENGTH:
                raise ProviderRefused("id_token:malformed")
            asserted = await self._providers.verify_id_token(provider, id_token)
            if asserted.nonce is None or not hmac.compare_digest(asserted.nonce.encode(), nonce.encode()):
                raise ProviderRefused("nonce")
        except ProviderRefused as refusal:
            await self._refused(provider, refusal.reason, client)
        return asserted

    async def _sign_in(self, asserted: ProviderAssertion, token_hash: str, client: Client) -> SignedIn | MfaRequired:
        assert asserted.expires_at is not None  # verify_id_token says until when the token passes
        async with self._uow() as uow, committing_refusals(uow):
            if not await uow.providers.spend_id_token(token_hash, asserted.expires_at):
                spent = True
            else:
                spent = False
                signed_in = await self._accounts.sign_in(uow, asserted, client, how="id_token")
                await uow.commit()
        if spent:  # outside the unit of work, which the refused insert may have spoilt
            await self._refused(asserted.provider, "replay", client)
        return signed_in

    async def _refused(self, provider: str, reason: str, client: Client) -> NoReturn:
        detail = f"{provider[:32]}:id_token:{reason}"[:64]
        await self._audit.record_alone(AuditEventType.PROVIDER_SIGN_IN_FAILED, client, None, detail)
        raise InvalidIdToken(reason)
