"""/metrics: what a login, a refresh, a rate limit and a reused token count; who may read them."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from persistence.unit_of_work import TortoiseUnitOfWork
from tests.support.client import LOGIN, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.mail import ACCEPTED

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.support.mail import SmtpSink

METRICS_TOKEN = "metrics-token-0123456789abcdef"


class Scrape:
    """One scrape of /metrics, parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a labelled series not yet counted (Prometheus shows none)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(gateway: Gateway, headers: dict[str, str] | None = None) -> Scrape:
    response = await gateway.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return Scrape(response.text)


class TestGraphQLOperations:
    async def test_a_login_counts_its_outcome(self, gateway: Gateway) -> None:
        await gateway.signed_up("counted@example.com")
        assert (await gateway.login("counted@example.com"))["__typename"] == "AuthPayload"
        metrics = await scrape(gateway)
        assert metrics.value("gateway_graphql_results_total", field="login", result="AuthPayload") == 1
        assert metrics.value("gateway_graphql_results_total", field="login", result="InvalidCredentials") == 0
        assert metrics.value("gateway_graphql_requests_total", operation="login") == 1
        assert metrics.value("gateway_graphql_request_duration_seconds_count", operation="login") == 1
        assert metrics.value("gateway_graphql_request_duration_seconds_sum", operation="login") > 0

    async def test_a_wrong_password_counts_as_invalid_credentials(self, gateway: Gateway) -> None:
        await gateway.signed_up("wrong@example.com")
        assert (await gateway.login("wrong@example.com", "not the password"))["__typename"] == "InvalidCredentials"
        metrics = await scrape(gateway)
        assert metrics.value("gateway_graphql_results_total", field="login", result="InvalidCredentials") == 1
        assert metrics.value("gateway_graphql_results_total", field="login", result="AuthPayload") == 0

    async def test_verify_and_refresh_count_their_outcomes(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("rotating@example.com")
        await gateway.refresh(payload["refreshToken"])
        await gateway.refresh("not-a-refresh-token")
        metrics = await scrape(gateway)
        assert metrics.value("gateway_graphql_results_total", field="register", result="OtpSent") == 1
        assert metrics.value("gateway_graphql_results_total", field="verifyOtp", result="AuthPayload") == 1
        assert metrics.value("gateway_graphql_results_total", field="refreshToken", result="AuthPayload") == 1
        assert metrics.value("gateway_graphql_results_total", field="refreshToken", result="InvalidRefreshToken") == 1
        assert metrics.value("gateway_graphql_requests_total", operation="refreshToken") == 2

    async def test_not_signed_in_and_refused_documents(self, gateway: Gateway) -> None:
        await gateway.post("query Sessions { sessions { id } }")
        await gateway.post("{ noSuchField }")
        metrics = await scrape(gateway)
        assert metrics.value("gateway_graphql_results_total", field="sessions", result="UNAUTHENTICATED") == 1
        assert metrics.value("gateway_graphql_requests_total", operation="invalid") == 1

    async def test_nothing_a_client_names_becomes_a_label(self, gateway: Gateway) -> None:
        body = {"query": "query ChosenByTheClient { me { id } }", "operationName": "ChosenByTheClient"}
        await gateway.http.post("/graphql", json=body)
        await gateway.http.get("/no/such/path/chosen-by-the-client")
        metrics = await scrape(gateway)
        assert "chosen" not in metrics.text.lower()
        assert metrics.value("gateway_graphql_requests_total", operation="me") == 1
        assert metrics.value("gateway_http_requests_total", path="other", method="GET", status="404") == 1
        assert metrics.value("gateway_http_requests_total", path="/graphql", method="POST", status="200") == 1

    async def test_each_app_counts_alone(self, gateway_factory: GatewayFactory) -> None:
        first: Gateway = await gateway_factory()
        await first.login("nobody@example.com")
        second: Gateway = await gateway_factory()  # a new app in the same process
        metrics = await scrape(second)
        assert metrics.value("gateway_graphql_requests_total", operation="login") == 0


class TestSecurityEvents:
    async def test_a_rate_limited_answer_counts_a_hit_of_its_limit(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_login_per_ip="1/1h")
        await gateway.login("first@example.com")
        assert (await gateway.login("second@example.com"))["__typename"] == "RateLimited"
        metrics = await scrape(gateway)
        assert metrics.value("gateway_rate_limit_hits_total", limit="login:ip") == 1
        assert metrics.value("gateway_graphql_results_total", field="login", result="RateLimited") == 1

    async def test_a_reused_refresh_token_counts_a_detection(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        first = await gateway.signed_up("stolen@example.com")
        await gateway.refresh(first["refreshToken"])
        assert (await scrape(gateway)).value("gateway_refresh_token_reuse_detections_total") == 0
        clock.advance(seconds=11)  # past the grace window
        assert (await gateway.refresh(first["refreshToken"]))["__typename"] == "InvalidRefreshToken"
        assert (await scrape(gateway)).value("gateway_refresh_token_reuse_detections_total") == 1


async def scraped_until(gateway: Gateway, wanted: Callable[[Scrape], bool], within: float = 10.0) -> Scrape:
    """The first scrape that shows ``wanted`` (the outbox gauges follow the dispatcher's looks)."""
    deadline = time.monotonic() + within
    while not wanted(metrics := await scrape(gateway)):
        assert time.monotonic() < deadline, metrics.text
        await asyncio.sleep(0.05)
    return metrics


class TestTheOutbox:
    async def test_queued_retried_dead_and_sent_items_and_the_oldest_age(
        self, gateway_factory: GatewayFactory, refusing_smtp_server: SmtpSink
    ) -> None:
        gateway: Gateway = await gateway_factory(
            outbox_max_attempts=2,
            outbox_retry_base_seconds=1.0,
            outbox_retry_max_seconds=1.0,
            outbox_poll_seconds=0.05,
        )
        assert (await gateway.register("metered@example.com"))["__typename"] == "OtpSent"

        def counted(metrics: Scrape, name: str) -> float:
            return metrics.value(name, kind="verify_email")

        # the first attempt is refused: the mail waits for its second
        waiting = await scraped_until(
            gateway,
            lambda m: counted(m, "gateway_outbox_retried_total") == 1 and m.value("gateway_outbox_queued") == 1,
        )
        assert waiting.value("gateway_outbox_oldest_queued_age_seconds") > 0
        assert waiting.value("gateway_outbox_dead_items") == 0

        # the second, the last, is refused too: dead
        dead = await scraped_until(gateway, lambda m: m.value("gateway_outbox_dead_items") == 1)
        assert counted(dead, "gateway_outbox_dead_total") == 1
        assert (dead.value("gateway_outbox_queued"), dead.value("gateway_outbox_oldest_queued_age_seconds")) == (0, 0)
        assert counted(dead, "gateway_outbox_sent_total") == 0

        # queued again (outbox retry) and accepted: sent, and nothing left waiting or dead
        refusing_smtp_server.reply = ACCEPTED
        async with TortoiseUnitOfWork() as uow:
            assert await uow.outbox.revive(None, datetime.now(UTC)) == 1
            await uow.commit()
        gateway.app.state.services.mail_dispatcher.wake()
        await scraped_until(gateway, lambda m: counted(m, "gateway_outbox_sent_total") == 1)
        sent = await scraped_until(gateway, lambda m: m.value("gateway_outbox_dead_items") == 0)
        assert (sent.value("gateway_outbox_queued"), counted(sent, "gateway_outbox_sent_total")) == (0, 1)
        assert counted(sent, "gateway_outbox_retried_total") == 1


class TestDatabasePool:
    async def test_reports_the_pool(self, gateway: Gateway) -> None:
        await gateway.login("nobody@example.com")
        metrics = await scrape(gateway)
        size = metrics.value("gateway_db_pool_connections")
        maximum = metrics.value("gateway_db_pool_max_connections")
        assert 1 <= size <= maximum
        assert 0 <= metrics.value("gateway_db_pool_connections_in_use") <= size


class TestWhoMayRead:
    async def test_off_in_production_by_default(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(app_env="production")
        assert (await gateway.http.get("/metrics")).status_code == 404

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer wrong-token-0123456789abcdef"},
            {"Authorization": f"Basic {METRICS_TOKEN}"},
            {"Authorization": f"Bearer {METRICS_TOKEN}x"},
        ],
        ids=["none", "wrong", "other-scheme", "longer"],
    )
    async def test_the_token_is_required_when_set(
        self, gateway_factory: GatewayFactory, headers: dict[str, str]
    ) -> None:
        gateway: Gateway = await gateway_factory(app_env="production", metrics_token=METRICS_TOKEN)
        response = await gateway.http.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "gateway_" not in response.text

    async def test_served_with_the_token(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(app_env="production", metrics_token=METRICS_TOKEN)
        await gateway.post(LOGIN, {"input": {"email": "nobody@example.com", "password": "whatever it is"}})
        metrics = await scrape(gateway, {"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert metrics.value("gateway_graphql_results_total", field="login", result="InvalidCredentials") == 1

    @pytest.mark.parametrize(
        ("overrides", "status"),
        [
            ({"app_env": "production", "metrics_enabled": True}, 200),  # the operator opens it on purpose
            ({"metrics_enabled": False}, 404),
            ({"metrics_enabled": False, "metrics_token": METRICS_TOKEN}, 404),
        ],
        ids=["production-enabled", "development-disabled", "disabled-with-token"],
    )
    async def test_metrics_enabled_decides(
        self, gateway_factory: GatewayFactory, overrides: dict[str, Any], status: int
    ) -> None:
        gateway: Gateway = await gateway_factory(**overrides)
        assert (await gateway.http.get("/metrics")).status_code == status
