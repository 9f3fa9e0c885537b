"""The second factors' rows of ``make bench``: passkey sign-ins against password sign-ins, and
the authenticator app's step against the password's.

wrk's Lua cannot sign a WebAuthn assertion, so passkey sign-ins are driven from Python:
several people at once, each with a passkey in a software authenticator
(tests/support/authenticator.py), each signing in again and again (``beginPasskeySignIn``,
the authenticator's answer, ``finishPasskeySignIn``) for a fixed time after a warm-up. Password
sign-ins (``login``) are driven by the same code, so the two rates are like for like. Only
``AuthPayload`` answers count. What the driver costs its own process is measured too (CPU per
second of the measured window), so that a report can tell whether the client kept up.

An app code is good once per account, so the app's step (``completeSignIn`` with ``TOTP``)
cannot be driven in a loop on one account: each account with an app signs in once, one
request at a time, and both steps are timed.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pyotp

from bench.wrk import WrkResult
from tests.support.authenticator import SoftAuthenticator

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

# The page of the product that uses passkeys, and its site (the gateway's WEBAUTHN_* settings)
PASSKEY_RP_ID = "localhost"
PASSKEY_ORIGIN = "http://localhost:8080"

ERROR = "... on Error { code message }"
BEGIN_PASSKEY_REGISTRATION = f"""mutation($i: BeginPasskeyRegistrationInput!) {{
  beginPasskeyRegistration(input: $i) {{ __typename {ERROR} ... on PasskeyOptions {{ optionsJson }} }} }}"""
FINISH_PASSKEY_REGISTRATION = f"""mutation($i: FinishPasskeyRegistrationInput!) {{
  finishPasskeyRegistration(input: $i) {{ __typename {ERROR} ... on PasskeyAdded {{ passkey {{ id }} }} }} }}"""
BEGIN_PASSKEY_SIGN_IN = f"""mutation {{
  beginPasskeySignIn {{ __typename {ERROR} ... on PasskeyOptions {{ optionsJson }} }} }}"""
FINISH_PASSKEY_SIGN_IN = f"""mutation($i: FinishPasskeySignInInput!) {{
  finishPasskeySignIn(input: $i) {{ __typename {ERROR} ... on AuthPayload {{ accessToken refreshToken }} }} }}"""
LOGIN = f"""mutation($i: LoginInput!) {{
  login(input: $i) {{ __typename {ERROR} ... on AuthPayload {{ accessToken refreshToken }}
    ... on MfaRequired {{ ticket methods }} }} }}"""
BEGIN_TOTP_ENROLMENT = f"""mutation {{
  beginTotpEnrolment {{ __typename {ERROR} ... on TotpEnrolment {{ otpauthUri }} }} }}"""
CONFIRM_TOTP_ENROLMENT = f"""mutation($i: ConfirmTotpEnrolmentInput!) {{
  confirmTotpEnrolment(input: $i) {{ __typename {ERROR} ... on RecoveryCodes {{ codes }} }} }}"""
COMPLETE_SIGN_IN = f"""mutation($i: CompleteSignInInput!) {{
  completeSignIn(input: $i) {{ __typename {ERROR} ... on AuthPayload {{ accessToken refreshToken }} }} }}"""


class UnexpectedAnswer(Exception):
    """An answer that is not the one a step expects: its status and the start of its body."""


async def answer(
    client: httpx.AsyncClient, field: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    """The result of ``field`` in the gateway's answer to ``query``.

    Raises:
        UnexpectedAnswer: not a 200 with that field.
        httpx.HTTPError: no answer at all.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else None
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    try:
        result: dict[str, Any] = response.json()["data"][field]
    except (ValueError, KeyError, TypeError):
        result = {}
    if response.status_code != 200 or not result:
        raise UnexpectedAnswer(f"{response.status_code} {response.text[:300]}")
    return result


def expect(result: dict[str, Any], typename: str) -> dict[str, Any]:
    if result.get("__typename") != typename:
        raise UnexpectedAnswer(f"200 {json.dumps(result)[:300]}")
    return result


# ---- passkeys


@dataclass
class PasskeyHolder:
    """A person with one passkey, in a software authenticator."""

    authenticator: SoftAuthenticator

    async def sign_in(self, client: httpx.AsyncClient) -> None:
        """One passkey sign-in, as a browser makes it.

        Raises:
            UnexpectedAnswer: a step answered anything but what it should (the sign-in failed).
        """
        begun = expect(await answer(client, "beginPasskeySignIn", BEGIN_PASSKEY_SIGN_IN), "PasskeyOptions")
        credential = self.authenticator.get(begun["optionsJson"])
        variables = {"i": {"credential": credential}}
        expect(await answer(client, "finishPasskeySignIn", FINISH_PASSKEY_SIGN_IN, variables), "AuthPayload")


async def add_passkeys(url: str, access_tokens: Sequence[str], password: str) -> list[PasskeyHolder]:
    """A passkey for each signed-in account of ``access_tokens``, as its owner adds one (the
    password, then the authenticator's new credential)."""

    async def add(client: httpx.AsyncClient, token: str) -> PasskeyHolder:
        authenticator = SoftAuthenticator(PASSKEY_ORIGIN)
        begun = await answer(
            client, "beginPasskeyRegistration", BEGIN_PASSKEY_REGISTRATION, {"i": {"password": password}}, token
        )
        credential = authenticator.create(expect(begun, "PasskeyOptions")["optionsJson"])
        variables = {"i": {"credential": credential, "name": "Laptop"}}
        added = await answer(client, "finishPasskeyRegistration", FINISH_PASSKEY_REGISTRATION, variables, token)
        expect(added, "PasskeyAdded")
        return PasskeyHolder(authenticator)

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        try:
            return list(await asyncio.gather(*(add(client, token) for token in access_tokens)))
        except UnexpectedAnswer as problem:
            sys.exit(f"bench: adding a passkey failed: {problem}")


# ---- password sign-ins, for the comparison


@dataclass
class PasswordHolder:
    """A person who signs in with an address and a password (no second factor)."""

    email: str
    password: str

    async def sign_in(self, client: httpx.AsyncClient) -> None:
        variables = {"i": {"email": self.email, "password": self.password}}
        expect(await answer(client, "login", LOGIN, variables), "AuthPayload")


# ---- the load driver


@dataclass(frozen=True)
class Driven:
    """A driver run: the same record as a wrk run, and the driver's own CPU."""

    result: WrkResult
    cpu_percent: float  # CPU time of this process per second of the measured window, in % of one core


class _Tally:
    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.ok = self.bad = self.socket_errors = 0
        self.latencies: list[float] = []
        self.bad_samples: list[str] = []

    def settle(self, started: float, finished: float, failure: str | None, socket_error: bool) -> None:
        """Count one sign-in that ended at ``finished``, if that is inside the measured window."""
        if not self.start <= finished <= self.end:
            return  # warm-up, or past the end
        if failure is None:
            self.ok += 1
            self.latencies.append(finished - started)
            return
        if socket_error:
            self.socket_errors += 1
        else:
            self.bad += 1
        if len(self.bad_samples) < 5:
            self.bad_samples.append(failure)


async def _keep_signing_in(sign_in: Callable[[httpx.AsyncClient], Awaitable[None]], url: str, tally: _Tally) -> None:
    """One person signing in again and again, on their own connection, until the window ends."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while time.perf_counter() < tally.end:
            started = time.perf_counter()
            failure, socket_error = None, False
            try:
                await sign_in(client)
            except UnexpectedAnswer as unexpected:
                failure = str(unexpected)
            except httpx.HTTPError as error:
                failure, socket_error = f"{type(error).__name__}: {error}", True
            tally.settle(started, time.perf_counter(), failure, socket_error)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def drive(
    url: str, sign_ins: Sequence[Callable[[httpx.AsyncClient], Awaitable[None]]], *, warmup: float, seconds: float
) -> Driven:
    """Run every one of ``sign_ins`` in a loop at once (each one person, on its own connection)
    for ``warmup`` + ``seconds``; count the sign-ins that end in the last ``seconds``."""
    now = time.perf_counter()
    tally = _Tally(now + warmup, now + warmup + seconds)
    people = [asyncio.create_task(_keep_signing_in(sign_in, url, tally)) for sign_in in sign_ins]
    await asyncio.sleep(max(0.0, tally.start - time.perf_counter()))
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    await asyncio.sleep(max(0.0, tally.end - time.perf_counter()))
    cpu_percent = 100 * (time.process_time() - cpu_started) / (time.perf_counter() - wall_started)
    await asyncio.gather(*people)
    latencies = sorted(tally.latencies)
    result = WrkResult(
        requests=tally.ok + tally.bad + tally.socket_errors,
        ok=tally.ok,
        bad=tally.bad,
        socket_errors=tally.socket_errors,
        seconds=seconds,
        p50_ms=round(_percentile(latencies, 0.50) * 1000, 2),
        p90_ms=round(_percentile(latencies, 0.90) * 1000, 2),
        p99_ms=round(_percentile(latencies, 0.99) * 1000, 2),
        bad_samples=tuple(tally.bad_samples),
    )
    return Driven(result, round(cpu_percent, 1))


# ---- the authenticator app's step


@dataclass
class AppHolder:
    """A person with an authenticator app: the app (from the otpauth URI the enrolment showed)
    and the last step whose code the gateway took (a code is good once)."""

    email: str
    app: pyotp.TOTP
    spent_step: int = -1

    def code(self) -> str:
        """The app's code now, or, while the current step's code is spent, the next step's (the
        gateway accepts a phone one step ahead). Take it just before sending it."""
        step = max(int(time.time()) // self.app.interval, self.spent_step + 1)
        self.spent_step = step
        return self.app.generate_otp(step)


async def enrol_apps(url: str, emails: Sequence[str], access_tokens: Sequence[str]) -> list[AppHolder]:
    """Turn the authenticator app on for each signed-in account (``beginTotpEnrolment``, then
    ``confirmTotpEnrolment`` with the app's code)."""

    async def enrol(client: httpx.AsyncClient, email: str, token: str) -> AppHolder:
        begun = expect(await answer(client, "beginTotpEnrolment", BEGIN_TOTP_ENROLMENT, token=token), "TotpEnrolment")
        app = pyotp.parse_uri(begun["otpauthUri"])
        if not isinstance(app, pyotp.TOTP):
            raise UnexpectedAnswer(f"not a TOTP URI: {begun['otpauthUri']}")
        holder = AppHolder(email, app)
        variables = {"i": {"code": holder.code()}}
        expect(await answer(client, "confirmTotpEnrolment", CONFIRM_TOTP_ENROLMENT, variables, token), "RecoveryCodes")
        return holder

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        try:
            pairs = zip(emails, access_tokens, strict=True)
            return list(await asyncio.gather(*(enrol(client, email, token) for email, token in pairs)))
        except UnexpectedAnswer as problem:
            sys.exit(f"bench: turning on an authenticator app failed: {problem}")


@dataclass(frozen=True)
class StepTimes:
    """Sign-ins with an app, one request at a time: each ``login`` (the password, answered
    ``MfaRequired``) and each ``completeSignIn`` (the app's code, answered ``AuthPayload``)."""

    login_ms: list[float]
    complete_ms: list[float]
    bad_samples: list[str]

    @property
    def login_p50_ms(self) -> float:
        return round(statistics.median(self.login_ms), 2)

    @property
    def complete_p50_ms(self) -> float:
        return round(statistics.median(self.complete_ms), 2)


async def time_app_step(url: str, holders: Sequence[AppHolder], password: str) -> StepTimes:
    """Sign each of ``holders`` in once, one request at a time on one connection: every
    ``login`` first (bcrypt; each answers a ticket), then every ``completeSignIn``. Only the
    expected answers are timed; the others are sampled."""
    login_ms: list[float] = []
    complete_ms: list[float] = []
    bad_samples: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        tickets: list[tuple[AppHolder, str]] = []
        for holder in holders:
            variables = {"i": {"email": holder.email, "password": password}}
            started = time.perf_counter()
            try:
                ticket = expect(await answer(client, "login", LOGIN, variables), "MfaRequired")["ticket"]
            except UnexpectedAnswer as unexpected:
                bad_samples.append(f"login: {unexpected}")
                continue
            login_ms.append((time.perf_counter() - started) * 1000)
            tickets.append((holder, ticket))
        for holder, ticket in tickets:
            variables = {"i": {"ticket": ticket, "method": "TOTP", "code": holder.code()}}
            started = time.perf_counter()
            try:
                expect(await answer(client, "completeSignIn", COMPLETE_SIGN_IN, variables), "AuthPayload")
            except UnexpectedAnswer as unexpected:
                bad_samples.append(f"completeSignIn: {unexpected}")
                continue
            complete_ms.append((time.perf_counter() - started) * 1000)
    if not login_ms or not complete_ms:
        sys.exit(f"bench: no sign-in with an authenticator app went through: {bad_samples[:3]}")
    return StepTimes(login_ms, complete_ms, bad_samples)
