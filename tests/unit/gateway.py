"""The services wired on fakes by ``domain.services.assembly.wire_services``, the same wiring the app uses."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from domain.entities import MfaRequired
from domain.errors import InvalidAccessToken, InvalidRefreshToken
from domain.otp import OtpCodes
from domain.secrets import KeyRing
from domain.services import Services
from domain.services.assembly import wire_services
from domain.services.throttle import RateLimits
from security.access_tokens import AccessTokenCodec
from security.passkeys import WebAuthnCeremonies
from security.sealing import AesGcmSealer
from security.totp import Totp
from tests.unit.fakes import MailedAtCommit

if TYPE_CHECKING:
    from domain.entities import Principal, SignedIn
    from domain.policy import AuthPolicy
    from domain.ports import IdentityProviders, PasswordHasher
    from tests.unit.fakes import FakeDatabase, FakeMailer, FixedClock

SERVER_SECRET = b"unit tests only: a server secret of more than 32 bytes"
ISSUER = "auth-gateway-tests"
AUDIENCE = "auth-gateway-tests-api"
ACCESS_TOKEN_LIFETIME_SECONDS = 15 * 60
KEYS = KeyRing.from_secret(SERVER_SECRET)

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ALICE = "alice@example.com"
ALICE_PASSWORD = "correct horse battery staple"
BOB = "bob@example.com"
BOB_PASSWORD = "a different long passphrase"


@dataclass(frozen=True)
class WiredServices(Services):
    """The app's services, wired on fakes, and the codecs tests use to forge or read what they make."""

    access_tokens: AccessTokenCodec
    otp_codes: OtpCodes


def build_gateway(
    database: FakeDatabase,
    mailer: FakeMailer,
    clock: FixedClock,
    passwords: PasswordHasher,
    policy: AuthPolicy,
    limits: RateLimits | None = None,
    providers: IdentityProviders | None = None,
) -> WiredServices:
    access_tokens = AccessTokenCodec(
        KEYS.access_token,
        issuer=ISSUER,
        audience=AUDIENCE,
        lifetime_seconds=ACCESS_TOKEN_LIFETIME_SECONDS,
    )
    services = wire_services(
        uow=database.unit_of_work,
        reads=database.statements,
        passwords=passwords,
        mailer=mailer,
        clock=clock,
        policy=policy,
        keys=KEYS,
        access_tokens=access_tokens,
        limits=limits or RateLimits(),
        totp=Totp(),
        sealer=AesGcmSealer(KEYS.factor_secret),
        ceremonies=WebAuthnCeremonies("localhost", "Auth Gateway", ["http://localhost:5173"]),
        outbox=MailedAtCommit(mailer),
        providers=providers,
    )
    fields = {field.name: getattr(services, field.name) for field in dataclasses.fields(services)}
    return WiredServices(**fields, access_tokens=access_tokens, otp_codes=OtpCodes(KEYS.otp))


@dataclass(frozen=True)
class PendingUser:
    """Registered, address not yet confirmed; ``code`` is the one mailed at registration."""

    email: str
    password: str
    code: str


@dataclass(frozen=True)
class VerifiedUser:
    """Registered and confirmed; ``signed_in`` is what confirming the address returned."""

    email: str
    password: str
    signed_in: SignedIn


async def sign_up(gateway: WiredServices, mailer: FakeMailer, email: str, password: str) -> SignedIn:
    """Register ``email`` and confirm it with the mailed code: a verified account, signed in."""
    await gateway.registration.register(email, password)
    return await gateway.verification.verify(email, mailer.last_code_sent_to(email), password)


async def principal_of(gateway: WiredServices, signed_in: SignedIn) -> Principal:
    """Who a request bearing ``signed_in``'s access token speaks for, as the GraphQL context finds it."""
    return await gateway.identity.authenticate(gateway.identity.read_access_token(signed_in.access_token))


async def assert_still_signed_in(gateway: WiredServices, signed_in: SignedIn) -> None:
    """Its access token is accepted and its refresh token rotates (which spends it)."""
    await principal_of(gateway, signed_in)
    await gateway.refresh.refresh(signed_in.refresh_token)


async def assert_signed_out(gateway: WiredServices, signed_in: SignedIn) -> None:
    """Neither its access token (still unexpired) nor its refresh token is accepted any more."""
    claims = gateway.identity.read_access_token(signed_in.access_token)
    with pytest.raises(InvalidAccessToken):
        await gateway.identity.authenticate(claims)
    with pytest.raises(InvalidRefreshToken):
        await gateway.refresh.refresh(signed_in.refresh_token)


def signed(result: SignedIn | MfaRequired) -> SignedIn:
    """A sign-in's result that is a session (the account has no second factor)."""
    assert not isinstance(result, MfaRequired), result
    return result
