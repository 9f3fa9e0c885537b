"""/metrics: what a login, a refresh, a rate limit and a reused token count; who may read them."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.client import LOGIN, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock

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
