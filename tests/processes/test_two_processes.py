"""Scaling out: two gateway processes that share nothing but PostgreSQL.

(a) a token issued by one is accepted by the other; (b) the same refresh token sent
to both at once never forks the session into two live token families; (c) the rate
limits count across both.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest

from tests.support.client import served_gateway
from tests.support.databases import emptied
from tests.support.settings import SIGNING_KEY, development_env

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.support.client import Gateway
    from tests.support.mail import SmtpSink

pytestmark = pytest.mark.postgres

ROUNDS = 15  # concurrent refresh pairs, each on the previous round's successor


@pytest.fixture
async def two_gateways(
    postgres_database_url: str, smtp_server: SmtpSink, tmp_path: Path
) -> AsyncIterator[tuple[Gateway, Gateway, str]]:
    """Two `python server.py` processes on one emptied PostgreSQL database, configured alike."""
    database_url = await emptied(postgres_database_url)
    env = development_env(
        smtp_server.port,
        tmp_path,
        DATABASE_URL=database_url,
        JWT_SIGNING_KEY=json.dumps(SIGNING_KEY.private_jwk()),
        MIGRATE_ON_START="false",
        RATE_LIMIT_LOGIN_PER_IP="6/10m",
        RATE_LIMIT_REFRESH_PER_IP="100000/1m",
        RATE_LIMIT_REFRESH_PER_ACCOUNT="100000/1m",
    )
    async with served_gateway(env, smtp_server) as first, served_gateway(env, smtp_server) as second:
        yield first, second, database_url


async def live_tokens(database_url: str, user_id: str) -> list[tuple[str, int]]:
    """(session id, generation) of the live refresh token (its session's generation) of each live session."""
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch(
            """SELECT s.id, t.generation FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
               WHERE s.user_id = $1 AND s.revoked_at IS NULL AND t.generation = s.generation""",
            uuid.UUID(user_id),
        )
    finally:
        await conn.close()
    return [(str(row["id"]), row["generation"]) for row in rows]


async def test_a_token_issued_by_one_process_works_on_the_other(two_gateways: tuple[Gateway, Gateway, str]) -> None:
    first, second, _ = two_gateways
    await first.register("ann@example.com")
    signed_in = await second.verify("ann@example.com", await first.last_code("ann@example.com"))  # code from the first
    assert signed_in["__typename"] == "AuthPayload"

    me = await first.me(signed_in["accessToken"])  # access token from the second
    assert me["data"]["me"]["email"] == "ann@example.com"
    refreshed = await first.refresh(signed_in["refreshToken"])  # refresh token from the second
    assert refreshed["__typename"] == "AuthPayload"

    await second.logout(refreshed["accessToken"])  # ended on one: refused by the other at once
    assert (await first.me(refreshed["accessToken"]))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_one_refresh_token_sent_to_both_never_forks_the_session(
    two_gateways: tuple[Gateway, Gateway, str],
) -> None:
    first, second, database_url = two_gateways
    signed_up = await first.signed_up("ann@example.com")
    user_id = signed_up["user"]["id"]
    token = signed_up["refreshToken"]

    for _ in range(ROUNDS):
        answers = await asyncio.gather(first.refresh(token), second.refresh(token))
        successors = {a["refreshToken"] for a in answers if a["__typename"] == "AuthPayload"}
        # both answered with the one successor (the second inside the reuse grace window)
        assert len(successors) == 1, answers
        [token] = successors
        [(_, generation)] = await live_tokens(database_url, user_id)  # one session, one live token
        assert generation >= 1

    [session] = await first.sessions((await second.refresh(token))["accessToken"])
    assert session["current"]


async def test_rate_limits_count_across_both(two_gateways: tuple[Gateway, Gateway, str]) -> None:
    first, second, _ = two_gateways
    answers = []
    for n in range(10):
        gateway = first if n % 2 == 0 else second
        answers.append(await gateway.login(f"sprayed{n}@example.com", "Summer2026!"))
    # RATE_LIMIT_LOGIN_PER_IP=6/10m: six attempts in all, not six per process
    assert [a["__typename"] for a in answers] == ["InvalidCredentials"] * 6 + ["RateLimited"] * 4
