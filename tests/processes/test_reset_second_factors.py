"""``python server.py reset-second-factors EMAIL``: the operator's way back in for a person who
lost both the authenticator app and the recovery codes, as a real process."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pyotp
from standardwebhooks.webhooks import Webhook

from persistence.models import AuditEventRow
from tests.support.authenticator import SoftAuthenticator
from tests.support.client import Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.factors import SPA, finish_sign_in, sign_in_options, with_passkey
from tests.support.processes import Finished, server_command
from tests.support.settings import JWT_SECRET
from tests.support.webhook_receiver import webhook_receiver

WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def reset_second_factors(
    database_url: str, data_dir: Path, *arguments: str, webhook_url: str | None = None
) -> Finished:
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "DATA_DIR": str(data_dir),
        "EMAIL_BACKEND": "console",
    }
    if webhook_url is not None:
        env["WEBHOOK_ENDPOINTS"] = json.dumps({"crm": {"url": webhook_url, "secret": WEBHOOK_SECRET}})
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
    notice = " ".join(ran.stdout.split())
    assert "Auth Gateway support just removed the second factors of your account" in notice
    assert "How: by Auth Gateway support, with an operator's command (not from a browser)" in notice
    assert "If you did not ask for it, someone may have posed as you" in notice

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


async def test_webhooks_hear_of_each_factor_removed_as_from_the_api(
    gateway_factory: GatewayFactory, database_url: str, tmp_path: Path
) -> None:
    """The command announces what removeTotp and removePasskey announce: ``user.factor_removed``
    with ``factor`` totp for the app and passkey for each passkey, signed like every event."""
    clock = AdjustableClock()
    gateway: Gateway = await gateway_factory(clock=clock, webauthn_origins=[SPA])
    token = await with_passkey(gateway, SoftAuthenticator(SPA), "ann@example.com")
    secret = (await gateway.begin_totp_enrolment(token))["secret"]
    await gateway.confirm_totp_enrolment(token, pyotp.TOTP(secret).at(clock.now()))
    user_id = (await gateway.me(token))["data"]["me"]["id"]

    async with webhook_receiver() as receiver:
        ran = await reset_second_factors(database_url, tmp_path, "ann@example.com", webhook_url=receiver.url)
        assert ran.status == 0, ran.stderr
        received = await receiver.until(2)
        events = [Webhook(WEBHOOK_SECRET).verify(message.body, message.headers) for message in received]
        assert sorted((event["type"], event["data"]["factor"]) for event in events) == [
            ("user.factor_removed", "passkey"),
            ("user.factor_removed", "totp"),
        ]
        assert all(event["data"] == {"user_id": user_id, "factor": event["data"]["factor"]} for event in events)

        # with nothing left to remove, the act is audited and nothing is announced
        again = await reset_second_factors(database_url, tmp_path, "ann@example.com", webhook_url=receiver.url)
        assert again.status == 0, again.stderr
        assert len(receiver.received) == 2
    assert [event.detail for event in await AuditEventRow.filter(event="second_factor_removed")] == [
        "operator",
        "operator",
    ]
