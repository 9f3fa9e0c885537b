"""A signed-in person's password asked again: each check, right or wrong, is paid for before bcrypt runs."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.entities import Client
from domain.errors import RateLimited
from domain.rate_limiting import Rate
from domain.services.throttle import RateLimits
from tests.unit.gateway import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, build_gateway, principal_of, sign_up

if TYPE_CHECKING:
    from domain.policy import AuthPolicy
    from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import WiredServices

LAPTOP = Client(ip="198.51.100.7")


@pytest.fixture
def gateway(
    database: FakeDatabase,
    mailer: FakeMailer,
    clock: FixedClock,
    password_hasher: CountingPasswordHasher,
    policy: AuthPolicy,
) -> WiredServices:
    limits = RateLimits(
        password_checks_per_account=Rate(3, timedelta(minutes=10)),
        password_checks_per_ip=Rate(5, timedelta(minutes=10)),
    )
    return build_gateway(database, mailer, clock, password_hasher, policy, limits)


async def test_the_right_password_spends_the_accounts_budget_and_then_nothing_is_hashed(
    gateway: WiredServices, mailer: FakeMailer, password_hasher: CountingPasswordHasher
) -> None:
    principal = await principal_of(gateway, await sign_up(gateway, mailer, ALICE, ALICE_PASSWORD))
    for n in range(3):
        await gateway.email_change.request(principal, f"alice.{n}@example.com", ALICE_PASSWORD, LAPTOP)
    checks_before = password_hasher.verifications + password_hasher.hashes

    with pytest.raises(RateLimited):
        await gateway.email_change.request(principal, "alice.3@example.com", ALICE_PASSWORD, LAPTOP)
    with pytest.raises(RateLimited):
        await gateway.account.change_password(principal, ALICE_PASSWORD, "another long passphrase", LAPTOP)
    with pytest.raises(RateLimited):
        await gateway.account.delete_account(principal, ALICE_PASSWORD, LAPTOP)

    assert password_hasher.verifications + password_hasher.hashes == checks_before


async def test_one_client_spends_one_budget_across_accounts(
    gateway: WiredServices, mailer: FakeMailer, password_hasher: CountingPasswordHasher
) -> None:
    alice = await principal_of(gateway, await sign_up(gateway, mailer, ALICE, ALICE_PASSWORD))
    bob = await principal_of(gateway, await sign_up(gateway, mailer, BOB, BOB_PASSWORD))
    for n in range(3):
        await gateway.email_change.request(alice, f"alice.{n}@example.com", ALICE_PASSWORD, LAPTOP)
    for n in range(2):
        await gateway.email_change.request(bob, f"bob.{n}@example.com", BOB_PASSWORD, LAPTOP)
    checks_before = password_hasher.verifications

    with pytest.raises(RateLimited):
        await gateway.email_change.request(bob, "bob.2@example.com", BOB_PASSWORD, LAPTOP)
    assert password_hasher.verifications == checks_before
