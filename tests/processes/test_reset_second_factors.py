"""``python server.py reset-second-factors EMAIL``: the operator's way back in for a person who
lost both the authenticator app and the recovery codes, as a real process."""

from __future__ import annotations

from pathlib import Path

import pyotp

from persistence.models import AuditEventRow
from tests.support.authenticator import SoftAuthenticator
from tests.support.client import Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.factors import SPA, finish_sign_in, sign_in_options, with_passkey
from tests.support.processes import Finished, server_command
from tests.support.settings import JWT_SECRET


async def reset_second_factors(database_url: str, data_dir: Path, *arguments: str) -> Finished:
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "DATA_DIR": str(data_dir),
        "EMAIL_BACKEND": "console",
    }
    return await server_command("reset-second-factors", *arguments, env=env)


async def test_the_app_and_recovery_codes_are_removed_audited_and_the_owner_told(
    gateway_factory: GatewayFactory, database_url: str, tmp_path: Path
) -> None:
    clock = AdjustableClock()
    gateway: Gateway = await gateway_factory(clock=clock, webauthn_origins=[SPA])
    authenticator = SoftAuthenticator(SPA)
    token = await with_passkey(gateway, authenticator, "ann@example.com")
    secret = (await gateway.begin_totp_enrolment(token))["secret"]
    await gateway.confirm_totp_enrolment(token, pyotp.TOTP(secret).at(clock.now()))
    assert (await gateway.login("ann@example.com"))["__typename"] == "MfaRequired"

    ran = await reset_second_factors(database_url, tmp_path, " Ann@EXAMPLE.com ")
    assert ran.status == 0, ran.stderr
    assert "Traceback" not in ran.stderr
    assert "second factors removed for ann@example.com; the owner was mailed" in ran.stdout
    assert "Two-step sign-in is off" in ran.stdout  # the console mailer's copy of the notice

    assert (await gateway.login("ann@example.com"))["__typename"] == "AuthPayload"
    assert await gateway.second_factors(token) == {"totp": False, "recoveryCodesLeft": 0}
    [event] = await AuditEventRow.filter(event="second_factor_removed")
    assert event.detail == "operator"
    assert (await finish_sign_in(gateway, authenticator.get(await sign_in_options(gateway))))[
        "__typename"
    ] == "InvalidPasskey"


async def test_an_unknown_or_malformed_address_changes_nothing(database_url: str, tmp_path: Path) -> None:
    unknown = await reset_second_factors(database_url, tmp_path, "nobody@example.com")
    assert unknown.status == 1
    assert unknown.stderr.splitlines()[-1] == "no account has the address nobody@example.com: nothing was removed"
    malformed = await reset_second_factors(database_url, tmp_path, "not an address")
    assert malformed.status == 2
    assert "Traceback" not in unknown.stderr + malformed.stderr
