"""The provider callback's own latency: ``GET /oauth/callback/{provider}`` less the provider's
token endpoint, with oidc-provider-mock on loopback as the provider (docs/performance.md).

Each sign-in is timed twice: the gateway's callback (which exchanges the code at the token
endpoint and checks the ID token), and, just before it, a code of the bench's own redeemed
at the same token endpoint by the same client the gateway uses (authlib's ``AsyncOAuth2Client``
on httpx2, a new one per exchange, PKCE). The gateway's own part of a sign-in is the first
less the second. A prober meanwhile asks ``/healthz`` one request at a time: a call that holds
the gateway's event loop shows as a slow probe.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.support.oidc_provider import authorize, query_of, set_user

PROVIDER = "mock"
CLIENT_SECRET = "bench-provider-secret-7c2e"  # noqa: S105 - the mock takes any secret
RETURN_URL = "http://localhost:8080/signed-in"  # the SPA's page (never loaded: the bench reads the redirect)
BENCH_REDIRECT = "http://127.0.0.1:9/bench-callback"  # the bench's own client's (never followed)
SIGN_INS = 50
WARMUP_SIGN_INS = 5
PROBE_SECONDS = 3.0  # the prober alone, before the sign-ins
BEGIN = """mutation($i: BeginProviderSignInInput!) { beginProviderSignIn(input: $i) {
  __typename ... on ProviderSignInStarted { authorizationUrl } ... on Error { code message } } }"""


def gateway_env(provider_url: str) -> dict[str, str]:
    """What a gateway needs to offer the mock provider (``{port}``: its own port)."""
    providers = {PROVIDER: {"issuer": provider_url, "client_id": "gateway", "client_secret": CLIENT_SECRET}}
    return {
        "OIDC_PROVIDERS": json.dumps(providers),
        "OIDC_RETURN_URLS": RETURN_URL,
        "PUBLIC_URL": "http://127.0.0.1:{port}",
    }


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in (0, 1])."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without floats drifting
    return ordered[int(rank) - 1]


@dataclass
class CallbackTimes:
    callback_ms: list[float] = field(default_factory=list)
    token_ms: list[float] = field(default_factory=list)
    probe_alone_ms: list[float] = field(default_factory=list)
    probe_during_ms: list[float] = field(default_factory=list)
    bad_samples: list[str] = field(default_factory=list)

    @property
    def own_ms(self) -> list[float]:
        """Each sign-in's callback less the token exchange timed just before it."""
        return [callback - token for callback, token in zip(self.callback_ms, self.token_ms, strict=True)]

    def values(self) -> dict[str, float]:
        own = self.own_ms
        return {
            "callback_sign_ins": len(own),
            "callback_p50_ms": round(statistics.median(self.callback_ms), 1),
            "callback_p99_ms": round(percentile(self.callback_ms, 0.99), 1),
            "provider_token_p50_ms": round(statistics.median(self.token_ms), 1),
            "provider_token_p99_ms": round(percentile(self.token_ms, 0.99), 1),
            "callback_own_p50_ms": round(statistics.median(own), 1),
            "callback_own_p99_ms": round(percentile(own, 0.99), 1),
            "probe_alone_p99_ms": round(percentile(self.probe_alone_ms, 0.99), 1),
            "probe_during_callbacks_p99_ms": round(percentile(self.probe_during_ms, 0.99), 1),
            "probe_during_callbacks_max_ms": round(max(self.probe_during_ms), 1),
        }


class Prober:
    """Asks ``/healthz`` again and again on one connection, in its own thread, keeping the times."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.times_ms: list[float] = []

    def __enter__(self) -> Prober:
        self._thread = threading.Thread(target=self._run, name="healthz-prober", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=10) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                http.get("/healthz")
                self.times_ms.append((time.perf_counter() - started) * 1000)
                self._stop.wait(0.002)


def time_callbacks(gateway_url: str, provider_url: str, sign_ins: int = SIGN_INS) -> CallbackTimes:
    times = CallbackTimes()
    with Prober(gateway_url) as alone:
        time.sleep(PROBE_SECONDS)
    times.probe_alone_ms = alone.times_ms
    asyncio.run(_sign_ins(gateway_url, provider_url, times, WARMUP_SIGN_INS, warmup=True))
    with Prober(gateway_url) as during:
        asyncio.run(_sign_ins(gateway_url, provider_url, times, sign_ins, warmup=False))
    times.probe_during_ms = during.times_ms
    return times


async def _sign_ins(gateway_url: str, provider_url: str, times: CallbackTimes, count: int, *, warmup: bool) -> None:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        metadata = (await http.get(provider_url + "/.well-known/openid-configuration")).json()
        for number in range(count):
            sub = f"bench-{'warm' if warmup else 'sign-in'}-{number}"
            await set_user(provider_url, sub, {"email": f"{sub}@example.com", "email_verified": True})
            token_ms = await _time_token_exchange(metadata, sub)
            callback_ms = await _time_callback(http, sub, times)
            if warmup or callback_ms is None:
                continue
            times.token_ms.append(token_ms)
            times.callback_ms.append(callback_ms)


async def _time_token_exchange(metadata: dict[str, Any], sub: str) -> float:
    """Sign in as ``sub`` for the bench's own client; the time of redeeming its code, as the gateway does."""
    async with _client() as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], state="bench", code_verifier=_VERIFIER, nonce="bench"
        )
    code = query_of(await authorize(url, sub))["code"]
    started = time.perf_counter()
    async with _client() as client:
        token = await client.fetch_token(
            metadata["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=_VERIFIER
        )
    elapsed = (time.perf_counter() - started) * 1000
    assert "id_token" in token, token
    return elapsed


_VERIFIER = "bench-code-verifier-" + "v" * 40  # PKCE: 43 to 128 characters
_TLS = httpx2.create_ssl_context()  # one, as the gateway's: building it is tens of milliseconds


def _client() -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        verify=_TLS,
        client_id="bench",
        client_secret=CLIENT_SECRET,
        scope="openid email profile",
        redirect_uri=BENCH_REDIRECT,
        code_challenge_method="S256",
        timeout=10,
        follow_redirects=False,
    )


async def _time_callback(http: httpx.AsyncClient, sub: str, times: CallbackTimes) -> float | None:
    """Begin a sign-in at the gateway, sign in at the provider as ``sub``, and time the gateway's
    callback; None (and a warning) unless it sends the browser back with a one-time code."""
    began = await http.post(
        "/graphql", json={"query": BEGIN, "variables": {"i": {"provider": PROVIDER, "returnUrl": RETURN_URL}}}
    )
    started = began.json().get("data", {}).get("beginProviderSignIn", {})
    if started.get("__typename") != "ProviderSignInStarted":
        times.bad_samples.append(f"beginProviderSignIn: {began.text[:200]}")
        return None
    # The binding cookie is Secure: a browser would send it to the https PUBLIC_URL; here, by hand.
    cookie = "; ".join(f"{name}={value}" for name, value in began.cookies.items())
    http.cookies.clear()
    location = urlsplit(await authorize(started["authorizationUrl"], sub))
    path = urlunsplit(("", "", location.path, location.query, ""))
    before = time.perf_counter()
    answer = await http.get(path, headers={"Cookie": cookie})
    elapsed = (time.perf_counter() - before) * 1000
    back = answer.headers.get("location", "")
    if answer.status_code != 303 or "code" not in query_of(back):
        times.bad_samples.append(f"callback: {answer.status_code} {back[:200]}")
        return None
    return elapsed
