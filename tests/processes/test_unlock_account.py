"""``python server.py unlock-account EMAIL``, the operator's way to end a sign-in lockout, as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.client import PASSWORD, Gateway, GatewayFactory
from tests.support.processes import Finished, server_command
from tests.support.settings import JWT_SECRET

LOCKING = {
    "lockout_free_failures": 2,
    "lockout_first_delay_seconds": 600,
    "lockout_max_delay_seconds": 600,
}


async def unlock_account(database_url: str, data_dir: Path, *arguments: str) -> Finished:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "DATA_DIR": str(data_dir)}
    return await server_command("unlock-account", *arguments, env=env)


async def locked_out(gateway: Gateway, email: str) -> None:
    await gateway.signed_up(email)
    for _ in range(2):
        assert (await gateway.login(email, "guess"))["__typename"] == "InvalidCredentials"
    assert (await gateway.login(email, PASSWORD))["__typename"] == "RateLimited"


async def test_a_locked_account_is_unlocked(gateway_factory: GatewayFactory, database_url: str, tmp_path: Path) -> None:
    gateway: Gateway = await gateway_factory(**LOCKING)
    await locked_out(gateway, "ann@example.com")
    ran = await unlock_account(database_url, tmp_path, "  Ann@EXAMPLE.com ")
    assert ran.status == 0, ran.stderr
    assert "Traceback" not in ran.stderr
    assert ran.stdout == "sign-in lockout cleared for ann@example.com\n"
    assert (await gateway.login("ann@example.com", PASSWORD))["__typename"] == "AuthPayload"


async def test_an_address_without_an_account_says_so(
    gateway_factory: GatewayFactory, database_url: str, tmp_path: Path
) -> None:
    gateway: Gateway = await gateway_factory(**LOCKING)
    await locked_out(gateway, "ann@example.com")
    ran = await unlock_account(database_url, tmp_path, "nobody@example.com")
    assert ran.status == 1
    assert ran.stdout == ""
    assert ran.stderr.splitlines()[-1] == "no account has the address nobody@example.com: nothing was unlocked"
    assert "Traceback" not in ran.stderr
    # and nobody else's lockout was touched
    assert (await gateway.login("ann@example.com", PASSWORD))["__typename"] == "RateLimited"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("address", ["not-an-address", "ann@", "@example.com", "", "a" * 400 + "@example.com"])
async def test_a_malformed_address_is_one_line_and_status_2(database_url: str, tmp_path: Path, address: str) -> None:
    ran = await unlock_account(database_url, tmp_path, address)
    assert ran.status == 2
    assert ran.stdout == ""
    assert "Traceback" not in ran.stderr
    [line] = ran.stderr.splitlines()
    assert line.startswith(f"{address!r} is not an e-mail address: ")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("arguments", [(), ("ann@example.com", "bob@example.com")])
async def test_anything_but_one_address_is_a_usage_error(
    database_url: str, tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    ran = await unlock_account(database_url, tmp_path, *arguments)
    assert ran.status == 2
    assert "usage: python server.py unlock-account" in ran.stderr
    assert "Traceback" not in ran.stderr
