"""Fixtures of the provider sign-in tests: a real OpenID Connect provider process, and gateways
set up to use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.client import Gateway
from tests.support.clock import AdjustableClock
from tests.support.oidc_provider import mock_provider
from tests.support.processes import RunningProcess
from tests.support.provider_flow import GATEWAY_URL, OTHER_RETURN_URL, RETURN_URL, provider_settings


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningProcess]:
    with mock_provider() as running:
        yield running


@pytest.fixture
def start(gateway_factory: Callable[..., Any], provider: RunningProcess) -> Callable[..., Any]:
    """Start a gateway with ``providers`` (id to setting), by default the mock one as ``mock``;
    each request to a provider may take ``provider_timeout`` seconds; ``settings`` overrides others."""

    async def started(
        clock: AdjustableClock | None = None,
        provider_timeout: float = 10.0,
        settings: dict[str, Any] | None = None,
        **providers: dict[str, Any],
    ) -> Gateway:
        gateway: Gateway = await gateway_factory(
            clock,
            **(settings or {}),
            base_url=GATEWAY_URL,
            public_url=GATEWAY_URL,
            oidc_providers=providers or {"mock": provider_settings(provider.url)},
            oidc_return_urls=[RETURN_URL, OTHER_RETURN_URL],
            # long enough for a busy machine; the test of a provider that hangs sets a short one
            oidc_timeout_seconds=provider_timeout,
        )
        return gateway

    return started
