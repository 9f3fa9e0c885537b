"""Webhooks from a real gateway process (python server.py, settings from the environment) to
a receiver on loopback: a sign-up and a deletion arrive signed with the configured secret."""

from __future__ import annotations

import base64
import json
import secrets
from typing import TYPE_CHECKING

from standardwebhooks.webhooks import Webhook

from tests.support.client import served_gateway
from tests.support.settings import development_env
from tests.support.webhook_receiver import webhook_receiver

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.mail import SmtpSink

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def test_a_gateway_process_announces_an_account_signed(smtp_server: SmtpSink, tmp_path: Path) -> None:
    async with webhook_receiver() as receiver:
        endpoints = {"crm": {"url": receiver.url, "secret": SECRET, "events": ["user.created", "user.deleted"]}}
        env = development_env(smtp_server.port, tmp_path, WEBHOOK_ENDPOINTS=json.dumps(endpoints))
        async with served_gateway(env, smtp_server) as gateway:
            signed_up = await gateway.signed_up("process@example.com")
            assert (await gateway.delete_account(signed_up["accessToken"]))["__typename"] == "AccountDeleted"
            received = await receiver.until(2)
        events = [Webhook(SECRET).verify(message.body, message.headers) for message in received]
        assert sorted(event["type"] for event in events) == ["user.created", "user.deleted"]
        assert {event["data"]["user_id"] for event in events} == {signed_up["user"]["id"]}
