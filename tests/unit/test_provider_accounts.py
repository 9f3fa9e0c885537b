"""What a provider's ID token signs in, on fakes: the nonce, single use, an address the
provider did not confirm (our code, and an answer that tells nobody who has an account)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.entities import MailKind, ProviderAssertion, ProviderTraits, SignedIn, SignInProvider
from domain.errors import (
    EmailConfirmationRequired,
    InvalidIdToken,
    InvalidOtp,
    InvalidTicket,
    LinkRequired,
    OtpExpired,
    ProviderRefused,
    TooManyAttempts,
)
from tests.unit.gateway import ALICE, START, WiredServices, build_gateway

if TYPE_CHECKING:
    from domain.policy import AuthPolicy
    from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FixedClock

NONCE = "nonce-of-this-sign-in"


class FakeProvider:
    """One provider, ``mock``, whose ID tokens are the text ``sub|email|verified|nonce``."""

    def known(self, provider: str) -> bool:
        return provider == "mock"

    def listed(self) -> tuple[SignInProvider, ...]:
        return (SignInProvider("mock", "Mock SSO"),)

    def links_verified_email(self, provider: str) -> bool:
        return True  # even so, an address only our code confirmed is never linked by itself

    def traits(self, provider: str) -> ProviderTraits:
        return ProviderTraits()

    async def authorization_url(self, provider: str, state: str, nonce: str, code_verifier: str) -> str:
        raise NotImplementedError

    async def redeem(
        self, provider: str, code: str, code_verifier: str, posted_user: str | None = None
    ) -> ProviderAssertion:
        raise NotImplementedError

    async def verify_id_token(self, provider: str, id_token: str) -> ProviderAssertion:
        if id_token.count("|") != 3:
            raise ProviderRefused("id_token:malformed")
        subject, email, verified, nonce = id_token.split("|")
        return ProviderAssertion(
            provider, subject, email or None, verified == "yes", nonce or None, expires_at=START + timedelta(minutes=5)
        )


def token(subject: str, email: str, *, verified: bool = True, nonce: str = NONCE) -> str:
    return f"{subject}|{email}|{'yes' if verified else 'no'}|{nonce}"


@pytest.fixture
def gateway(
    database: FakeDatabase,
    mailer: FakeMailer,
    clock: FixedClock,
    password_hasher: CountingPasswordHasher,
    policy: AuthPolicy,
) -> WiredServices:
    return build_gateway(database, mailer, clock, password_hasher, policy, providers=FakeProvider())


async def test_an_id_token_signs_in_once_and_only_with_its_nonce(gateway: WiredServices, mailer: FakeMailer) -> None:
    sign_in = gateway.id_token_sign_in.sign_in
    with pytest.raises(InvalidIdToken):
        await sign_in("mock", token("sub-1", ALICE), "another nonce")
    with pytest.raises(InvalidIdToken):
        await sign_in("mock", token("sub-1", ALICE, nonce=""), NONCE)  # the token carries none
    assert isinstance(await sign_in("mock", token("sub-1", ALICE), NONCE), SignedIn)  # refusals spent nothing
    with pytest.raises(InvalidIdToken):
        await sign_in("mock", token("sub-1", ALICE), NONCE)
    assert mailer.kinds_sent_to(ALICE) == [MailKind.PROVIDER_ACCOUNT_CREATED]


async def test_an_unconfirmed_address_is_answered_alike_whoever_has_it(
    gateway: WiredServices, mailer: FakeMailer, verified_user: object
) -> None:
    answers = []
    for subject, email in (("sub-taken", ALICE), ("sub-free", "free@example.com")):
        with pytest.raises(EmailConfirmationRequired) as required:
            await gateway.id_token_sign_in.sign_in("mock", token(subject, email, verified=False), NONCE)
        answers.append(required.value)
    assert [type(answer.ticket) for answer in answers] == [str, str]
    assert answers[0].expires_at == answers[1].expires_at
    assert mailer.kinds_sent_to(ALICE) == [MailKind.CONFIRM_PROVIDER_EMAIL]
    assert mailer.kinds_sent_to("free@example.com") == [MailKind.CONFIRM_PROVIDER_EMAIL]

    confirm = gateway.provider_email_confirmation.confirm
    code = mailer.last_code_sent_to(ALICE, MailKind.CONFIRM_PROVIDER_EMAIL)
    with pytest.raises(LinkRequired):  # never linked by itself, though the provider may auto-link
        await confirm(answers[0].ticket, code)
    free_code = mailer.last_code_sent_to("free@example.com", MailKind.CONFIRM_PROVIDER_EMAIL)
    assert isinstance(await confirm(answers[1].ticket, free_code), SignedIn)
    with pytest.raises(InvalidTicket):
        await confirm(answers[1].ticket, free_code)


async def test_a_confirmation_has_five_tries_and_expires(
    gateway: WiredServices, mailer: FakeMailer, clock: FixedClock
) -> None:
    async def ticket() -> str:
        with pytest.raises(EmailConfirmationRequired) as required:
            await gateway.id_token_sign_in.sign_in(
                "mock", token("sub-2", ALICE, verified=False, nonce=str(clock.now())), str(clock.now())
            )
        return required.value.ticket

    first = await ticket()
    code = mailer.last_code_sent_to(ALICE, MailKind.CONFIRM_PROVIDER_EMAIL)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(InvalidOtp):
            await gateway.provider_email_confirmation.confirm(first, wrong)
    with pytest.raises(TooManyAttempts):
        await gateway.provider_email_confirmation.confirm(first, wrong)
    with pytest.raises(InvalidTicket):
        await gateway.provider_email_confirmation.confirm(first, code)

    clock.advance(timedelta(seconds=1))
    second = await ticket()
    code = mailer.last_code_sent_to(ALICE, MailKind.CONFIRM_PROVIDER_EMAIL)
    clock.advance(timedelta(minutes=10))
    with pytest.raises(OtpExpired):
        await gateway.provider_email_confirmation.confirm(second, code)
