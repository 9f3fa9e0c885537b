"""Object types shared by several operations, and every ``Error`` member."""

from __future__ import annotations

import base64
from datetime import datetime  # noqa: TC003 - Strawberry reads annotations at runtime
from typing import TYPE_CHECKING

import strawberry
from strawberry.utils.str_converters import to_camel_case

from domain.entities import SecondFactorMethod as DomainSecondFactorMethod

if TYPE_CHECKING:
    from uuid import UUID

    from domain import entities
    from domain import errors as domain_errors


@strawberry.interface(description="Every expected failure: clients branch on `__typename`.")
class Error:
    message: str
    code: str


async def _session_of_caller(root: User, info: strawberry.Info) -> Session | None:
    if root.caller is None:
        return None
    session = await info.context.services.sessions.current(root.caller)
    return None if session is None else Session.from_domain(session, session.id)


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    first_name: str | None
    last_name: str | None
    email_verified: bool
    created_at: datetime
    locale: str | None = strawberry.field(
        description=(
            "The language of the account's mails (`en`, `de`, `fr`, …). Null: the language the request"
            " asks for with Accept-Language, else the gateway's default."
        )
    )
    caller: strawberry.Private[object] = None  # the Principal, when this is the caller's own account (``me``)

    session: Session | None = strawberry.field(
        resolver=_session_of_caller,
        description="Only on me: the session this request comes from, with how and when it signed in. Null elsewhere.",
    )

    @classmethod
    def from_domain(cls, user: entities.User, caller: entities.Principal | None = None) -> User:
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            email_verified=user.email_verified,
            created_at=user.created_at,
            locale=user.locale,
            caller=caller,
        )


@strawberry.type(description="A signed-in session: send `accessToken` as `Authorization: Bearer …`.")
class AuthPayload:
    access_token: str
    refresh_token: str | None = strawberry.field(
        description=(
            "The refresh token, for refreshToken. Null when the gateway keeps it in an HttpOnly cookie "
            "instead (REFRESH_TOKEN_TRANSPORT=cookie)."
        )
    )
    token_type: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User

    @classmethod
    def from_domain(cls, signed_in: entities.SignedIn, refresh_token: str | None) -> AuthPayload:
        """``refresh_token`` is what the body carries: the token, or ``None`` when a cookie does."""
        return cls(
            access_token=signed_in.access_token,
            refresh_token=refresh_token,
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            expires_in=signed_in.expires_in,
            user=User.from_domain(signed_in.user),
        )


# The domain's enum, registered with the schema as it is (its values are the GraphQL names' lower case).
strawberry.enum(
    DomainSecondFactorMethod, name="SecondFactorMethod", description="What can complete a sign-in after the password."
)
SecondFactorMethod = DomainSecondFactorMethod


@strawberry.type(
    description=(
        "The password was right and the account has a second factor: send `ticket` with a code to "
        "completeSignIn before `expiresAt`."
    )
)
class MfaRequired:
    ticket: str = strawberry.field(description="Single use, for this sign-in only; never stored by the client.")
    methods: list[SecondFactorMethod]
    expires_at: datetime
    webauthn_options: str | None = strawberry.field(
        description="With WEBAUTHN: the options (JSON) for navigator.credentials.get, for the account's passkeys."
    )

    @classmethod
    def from_domain(cls, required: entities.MfaRequired) -> MfaRequired:
        return cls(
            ticket=required.ticket,
            methods=list(required.methods),
            expires_at=required.expires_at,
            webauthn_options=required.webauthn_options,
        )


@strawberry.type(description="A signed-in device or browser: one refresh-token family.")
class Session:
    id: strawberry.ID
    created_at: datetime
    last_used_at: datetime = strawberry.field(description="When its refresh token was last used (or it began).")
    expires_at: datetime = strawberry.field(description="When it ends at the latest, used or not.")
    client_ip: str | None = strawberry.field(description="The address it was last used from.")
    user_agent: str | None = strawberry.field(description="The browser or app that last used it.")
    current: bool = strawberry.field(description="True for the session this request comes from.")
    sign_in_methods: list[str] = strawberry.field(
        description=(
            'How it last proved its owner (RFC 8176 "amr" values): ["pwd"], or ["pwd", "otp", "mfa"] '
            "once it signed in or reauthenticated with the second factor."
        )
    )
    authenticated_at: datetime = strawberry.field(
        description=(
            "When it last proved its owner: its sign-in, or the latest reauthenticate. Changes that need a recent "
            "proof take it until REAUTHENTICATION_WINDOW_SECONDS after this."
        )
    )

    @classmethod
    def from_domain(cls, session: entities.Session, current_session_id: UUID) -> Session:
        return cls(
            id=strawberry.ID(str(session.id)),
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            client_ip=session.client_ip,
            user_agent=session.user_agent,
            current=session.id == current_session_id,
            sign_in_methods=session.amr.split(),
            authenticated_at=session.auth_time,
        )


@strawberry.type(description="Sessions have ended: their refresh and access tokens no longer work.")
class SignedOut:
    ended_sessions: int


@strawberry.type(description="The session has ended: its refresh and access tokens no longer work.")
class SessionRevoked:
    id: strawberry.ID


@strawberry.type(description="The new password is set; every other session has ended.")
class PasswordChanged:
    ended_other_sessions: int


@strawberry.type(description="The account and everything that identifies its owner are gone.")
class AccountDeleted:
    id: strawberry.ID


@strawberry.type(description="A code is on its way, if the address can receive one.")
class OtpSent:
    email: str
    expires_at: datetime


@strawberry.type(
    description=(
        "Recovery codes, shown this once: each signs in once in place of the authenticator app. "
        "The gateway keeps only their hashes."
    )
)
class RecoveryCodes:
    codes: list[str]


@strawberry.type
class FieldError:
    field: str = strawberry.field(description="The input field, as named in the schema.")
    message: str


@strawberry.type
class InvalidInput(Error):
    message: str = "Some fields are not valid."
    code: str = "INVALID_INPUT"
    fields: list[FieldError] = strawberry.field(default_factory=list)

    @classmethod
    def from_domain(cls, error: domain_errors.InvalidInput) -> InvalidInput:
        return cls(fields=[FieldError(field=to_camel_case(e.field), message=e.message) for e in error.errors])


@strawberry.type
class InvalidCredentials(Error):
    message: str = "The e-mail address or the password is not right."
    code: str = "INVALID_CREDENTIALS"


@strawberry.type
class EmailNotVerified(Error):
    message: str = "Confirm your e-mail address first: we have sent you a new code."
    code: str = "EMAIL_NOT_VERIFIED"
    email: str = ""


@strawberry.type
class InvalidOtp(Error):
    message: str = "That code is not right."
    code: str = "INVALID_OTP"


@strawberry.type
class OtpExpired(Error):
    message: str = "That code has expired; ask for a new one."
    code: str = "OTP_EXPIRED"


@strawberry.type
class TooManyAttempts(Error):
    message: str = "Too many wrong tries for this code; ask for a new one."
    code: str = "TOO_MANY_ATTEMPTS"


@strawberry.type
class InvalidRefreshToken(Error):
    message: str = "This session has ended; sign in again."
    code: str = "INVALID_REFRESH_TOKEN"


@strawberry.type(
    description="No longer answered: every mail is written to the outbox with the change that causes it and "
    "delivered afterwards, with retries. Kept in the unions it was part of so that existing documents that "
    "select it still validate; it will be removed in a later major version."
)
class DeliveryFailed(Error):
    message: str = "We could not send the e-mail just now; nothing was saved. Please try again."
    code: str = "DELIVERY_FAILED"


@strawberry.type
class WrongPassword(Error):
    message: str = "That password is not right."
    code: str = "WRONG_PASSWORD"


@strawberry.type
class SessionNotFound(Error):
    message: str = "None of your active sessions has this id; it may have ended already."
    code: str = "SESSION_NOT_FOUND"


@strawberry.type
class InvalidTicket(Error):
    message: str = "This sign-in has expired or was already used; sign in again."
    code: str = "INVALID_TICKET"


@strawberry.type
class SecondFactorAlreadyEnabled(Error):
    message: str = "An authenticator app is already set up; remove it before setting up another."
    code: str = "SECOND_FACTOR_ALREADY_ENABLED"


@strawberry.type(
    description=(
        "The change needs this session to have proved its owner lately: send the password in the input, or "
        "call reauthenticate first (with the second factor, on an account that has one)."
    )
)
class ReauthenticationRequired(Error):
    message: str = "Confirm it is you first: with your authenticator app or passkey, or else your password."
    code: str = "REAUTHENTICATION_REQUIRED"


@strawberry.type(description="A passkey of the account.")
class Passkey:
    id: strawberry.ID = strawberry.field(description="The credential id, base64url.")
    name: str
    created_at: datetime
    last_used_at: datetime | None
    synced: bool = strawberry.field(description="Its provider may sync it between devices (backup eligible).")
    backed_up: bool = strawberry.field(description="It is synced now (backed up).")

    @classmethod
    def from_domain(cls, passkey: entities.Passkey) -> Passkey:
        return cls(
            id=strawberry.ID(base64.urlsafe_b64encode(passkey.credential_id).decode("ascii").rstrip("=")),
            name=passkey.name,
            created_at=passkey.created_at,
            last_used_at=passkey.last_used_at,
            synced=passkey.synced,
            backed_up=passkey.backed_up,
        )


@strawberry.type(
    description=(
        "WebAuthn options: JSON.parse(optionsJson) is PublicKeyCredentialCreationOptionsJSON or "
        "PublicKeyCredentialRequestOptionsJSON, for PublicKeyCredential.parseCreationOptionsFromJSON "
        "or parseRequestOptionsFromJSON, then navigator.credentials.create or get."
    )
)
class PasskeyOptions:
    options_json: str


@strawberry.type
class InvalidPasskey(Error):
    message: str = "That passkey was not accepted."
    code: str = "INVALID_PASSKEY"


@strawberry.type
class PasskeyNotFound(Error):
    message: str = "None of your passkeys has this id."
    code: str = "PASSKEY_NOT_FOUND"


@strawberry.type
class SecondFactorsOff(Error):
    message: str = "This service does not offer two-step sign-in."
    code: str = "SECOND_FACTORS_OFF"


@strawberry.type
class SecondFactorRequired(Error):
    message: str = "This service requires two-step sign-in: the authenticator app cannot be removed."
    code: str = "SECOND_FACTOR_REQUIRED"


@strawberry.type
class SecondFactorNotEnabled(Error):
    message: str = "There is no authenticator app set up on this account."
    code: str = "SECOND_FACTOR_NOT_ENABLED"


@strawberry.type
class RateLimited(Error):
    message: str = "Too many attempts; wait a little and try again."
    code: str = "RATE_LIMITED"
    retry_after_seconds: int = strawberry.field(default=60, description="Seconds to wait before the next try.")

    @classmethod
    def from_domain(cls, error: domain_errors.RateLimited) -> RateLimited:
        if error.locked:
            return cls(
                message="Too many failed sign-ins in a row: this account is locked. Reset the password to unlock it.",
                code="ACCOUNT_LOCKED",
                retry_after_seconds=error.retry_after_seconds,
            )
        return cls(retry_after_seconds=error.retry_after_seconds)


@strawberry.type(
    description=(
        "Send the browser to `authorizationUrl` (a top-level navigation). The provider sends it back to the "
        "gateway, which sends it on to the returnUrl with `?code=` for finishProviderSignIn, or `?error=`."
    )
)
class ProviderSignInStarted:
    authorization_url: str
    expires_in: int = strawberry.field(description="Seconds the sign-in may take before it must start again.")


@strawberry.type
class ProviderUnavailable(Error):
    message: str = "The sign-in provider could not be reached just now; try again later."
    code: str = "PROVIDER_UNAVAILABLE"


@strawberry.type
class InvalidProviderCode(Error):
    message: str = "This sign-in has expired or was already used; sign in again."
    code: str = "INVALID_PROVIDER_CODE"


@strawberry.type(
    description=(
        "An account already has the address the provider asserted, and this identity is not linked to it: "
        "it is never linked without the account's owner. Sign in to that account the way it signs in."
    )
)
class LinkRequired(Error):
    message: str = "An account with this e-mail address exists: sign in to it the way you usually do."
    code: str = "LINK_REQUIRED"
    provider: str = ""
    link_token: str | None = strawberry.field(
        default=None,
        description=(
            "Links this identity to that account once a session of the account (signed in the way it "
            "signs in) gives it to linkProvider; single use, valid for ten minutes. Keep it in memory only."
        ),
    )


@strawberry.type
class InvalidLinkToken(Error):
    message: str = (
        "This link has expired, was already used, or is not for this account; sign in with the provider again."
    )
    code: str = "INVALID_LINK_TOKEN"


@strawberry.type(description="The identity is linked already, or the account has an identity at this provider already.")
class ProviderAlreadyLinked(Error):
    message: str = "This sign-in is linked already, or the account has one at this provider: unlink it first."
    code: str = "PROVIDER_ALREADY_LINKED"


@strawberry.type
class ProviderNotLinked(Error):
    message: str = "The account has no sign-in with this provider."
    code: str = "PROVIDER_NOT_LINKED"


@strawberry.type(
    description="It is the account's only way in (no password, no other passkey or provider): set a password first."
)
class LastSignInMethod(Error):
    message: str = (
        "This is the only way left to sign in to the account: set a password, add a passkey or link a provider first."
    )
    code: str = "LAST_SIGN_IN_METHOD"


@strawberry.type(description="An identity at a sign-in provider, linked to the account.")
class ProviderIdentity:
    provider: str = strawberry.field(description="The provider's id (signInProviders).")
    email: str | None = strawberry.field(description="The address the provider last asserted.")
    linked_at: datetime
    last_used_at: datetime = strawberry.field(description="When it last signed in (or was linked).")

    @classmethod
    def from_domain(cls, identity: entities.ProviderIdentity) -> ProviderIdentity:
        return cls(
            provider=identity.provider,
            email=identity.email,
            linked_at=identity.created_at,
            last_used_at=identity.last_used_at,
        )


@strawberry.type(description="A provider the SPA may offer a sign-in button for.")
class SignInProvider:
    id: str = strawberry.field(description="What beginProviderSignIn takes as `provider`.")
    display_name: str


@strawberry.type(
    description=(
        "The provider asserted no e-mail address (or not one that can receive mail), so no account is made "
        "from it: register with an address (and the code we mail) instead."
    )
)
class ProviderEmailNotVerified(Error):
    message: str = "Your provider did not confirm your e-mail address: sign up with it here instead."
    code: str = "PROVIDER_EMAIL_NOT_VERIFIED"


@strawberry.type(
    description=(
        "The ID token failed a check (signature, issuer, audience, times), its nonce is not the one given, "
        "or it was given before: each ID token signs in once. Get a new one from the provider."
    )
)
class InvalidIdToken(Error):
    message: str = "This sign-in could not be checked or was already used; sign in with the provider again."
    code: str = "INVALID_ID_TOKEN"


@strawberry.type(
    description=(
        "The provider did not confirm the address of this first sign-in: a code went to it (whether or not an "
        "account has it). Send `ticket` with that code to confirmProviderEmail before `expiresAt`."
    )
)
class EmailConfirmationRequired:
    ticket: str = strawberry.field(description="Single use, for this sign-in only; keep it in memory only.")
    email: str = strawberry.field(description="Where the code went: the address the provider gave.")
    expires_at: datetime
