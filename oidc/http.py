"""What every provider adapter asks of HTTP: a JSON document, or ``ProviderUnavailable``."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import httpx2

from domain.errors import ProviderUnavailable

if TYPE_CHECKING:
    import ssl

    from authlib.integrations.httpx_client import AsyncOAuth2Client


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """The TLS context of every provider client, made once (at start, by the adapters).

    Making one loads the CA bundle: tens of milliseconds of CPU that would hold the event
    loop in each of a sign-in's clients.
    """
    return httpx2.create_ssl_context()


async def get_json(
    client: AsyncOAuth2Client, url: str, *, with_token: bool = False, headers: dict[str, str] | None = None
) -> Any:
    """The JSON that ``GET url`` answers with 200; ``ProviderUnavailable`` for anything else
    (no answer in time, another status, not JSON). ``with_token``: send the access token."""
    try:
        # withhold_token: public documents (discovery, JWK Sets), fetched before there is any token
        response = await client.request(
            "GET", url, withhold_token=not with_token, headers={"Accept": "application/json", **(headers or {})}
        )
        response.raise_for_status()
        return response.json()
    except (httpx2.HTTPError, ValueError):
        raise ProviderUnavailable from None


async def get_json_object(client: AsyncOAuth2Client, url: str) -> dict[str, Any]:
    document = await get_json(client, url)
    if not isinstance(document, dict):
        raise ProviderUnavailable
    return document
