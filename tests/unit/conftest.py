"""Fixtures of the unit tests: the domain services on in-memory fakes and a fixed clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from domain.policy import AuthPolicy
from security.passwords import BcryptPasswordHasher
from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FakePasswordHasher, FixedClock
from tests.unit.gateway import (
    ALICE,
    ALICE_PASSWORD,
    START,
    PendingUser,
    VerifiedUser,
    WiredServices,
    build_gateway,
    principal_of,
)

if TYPE_CHECKING:
    from domain.entities import Principal, SignedIn


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture(scope="session")
def bcrypt_cost_4() -> BcryptPasswordHasher:
    """The real hasher at bcrypt's lowest cost, for the tests of hashing itself."""
    return BcryptPasswordHasher(cost=4)


@pytest.fixture
def password_hasher() -> CountingPasswordHasher:
    """Counts the checks the services ask for; the hashing is fake (no bcrypt, no thread)."""
    return CountingPasswordHasher(FakePasswordHasher())


@pytest.fixture
def policy() -> AuthPolicy:
    return AuthPolicy()


@pytest.fixture
def gateway(
    database: FakeDatabase,
    mailer: FakeMailer,
    clock: FixedClock,
    password_hasher: CountingPasswordHasher,
    policy: AuthPolicy,
) -> WiredServices:
    return build_gateway(database, mailer, clock, password_hasher, policy)


@pytest.fixture
async def pending_user(gateway: WiredServices, mailer: FakeMailer) -> PendingUser:
    await gateway.registration.register(ALICE, ALICE_PASSWORD, "Alice", "Liddell")
    return PendingUser(email=ALICE, password=ALICE_PASSWORD, code=mailer.last_code_sent_to(ALICE))


@pytest.fixture
async def verified_user(gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer) -> VerifiedUser:
    """Alice, confirmed and signed in; her mailbox is emptied so tests see only what follows."""
    signed_in = await gateway.verification.verify(pending_user.email, pending_user.code, pending_user.password)
    mailer.sent.clear()
    return VerifiedUser(email=pending_user.email, password=pending_user.password, signed_in=signed_in)


@pytest.fixture
def signed_in(verified_user: VerifiedUser) -> SignedIn:
    """Alice's first token pair, from confirming her address."""
    return verified_user.signed_in


@pytest.fixture
async def principal(gateway: WiredServices, signed_in: SignedIn) -> Principal:
    """Alice as the requests of her first session (``signed_in``) speak for her."""
    return await principal_of(gateway, signed_in)
