"""Sends webhook deliveries: signed with the Standard Webhooks reference library, POSTed with
httpx2, redirects not followed, cut off at a timeout; any 2xx answer is delivery."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx2
from standardwebhooks.webhooks import Webhook

from domain.errors import DeliveryFailed

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from domain.entities import WebhookDelivery

logger = logging.getLogger("gateway.webhooks")


@dataclass(frozen=True)
class EndpointTarget:
    """Where an endpoint's events go and the secret (``whsec_…``) that signs them."""

    url: str
    secret: str


class StandardWebhookSender:
    """``WebhookSender``: one POST per attempt, headers ``webhook-id``, ``webhook-timestamp``
    (the attempt's time, as the specification says) and ``webhook-signature``."""

    def __init__(
        self,
        endpoints: Mapping[str, EndpointTarget],
        timeout_seconds: float,
        now: Callable[[], datetime],
        user_agent: str = "auth-gateway-webhooks",
    ) -> None:
        self._signers = {key: (target.url, Webhook(target.secret)) for key, target in endpoints.items()}
        self._timeout_seconds = timeout_seconds
        self._now = now
        self._user_agent = user_agent
        # Made once: making one loads the CA bundle, which would hold the event loop in every delivery.
        self._tls: ssl.SSLContext | bool = httpx2.create_ssl_context() if endpoints else True

    async def send(self, delivery: WebhookDelivery) -> None:
        target = self._signers.get(delivery.endpoint)
        if target is None:  # taken out of WEBHOOK_ENDPOINTS while the event waited
            raise DeliveryFailed("endpoint not configured")
        url, signer = target
        now = self._now()
        headers = {
            "content-type": "application/json",
            "user-agent": self._user_agent,
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(delivery.webhook_id, now, delivery.body),
        }
        try:
            # httpx2's timeout bounds each phase; the outer one bounds the whole exchange, so a
            # receiver that trickles its answer is cut off too.
            async with (
                asyncio.timeout(self._timeout_seconds),
                httpx2.AsyncClient(
                    timeout=self._timeout_seconds, follow_redirects=False, verify=self._tls or True
                ) as client,
            ):
                response = await client.post(url, content=delivery.body.encode(), headers=headers)
        except TimeoutError as exc:
            raise DeliveryFailed("timeout") from exc
        except httpx2.HTTPError as exc:
            raise DeliveryFailed(type(exc).__name__) from exc
        if not 200 <= response.status_code < 300:  # a redirect (3xx) is a refusal: never followed
            raise DeliveryFailed(f"HTTP {response.status_code}")
