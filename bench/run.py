"""``make bench``: the gateway's throughput, latency and memory, as ratios to bounds measured in the same run.

Starts the gateway as in production (``python server.py``, APP_ENV=production, SMTP to a
sink in this process, a fresh PostgreSQL database) and the baseline (bench/baseline.py),
drives them with wrk (bench/lua), and writes bench/results/latest.json and bench/RESULTS.md.
What each line measures is explained in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench import callback_latency, delivery, report, second_factors
from bench import peer as peer_app
from bench import wrk as wrk_runner
from security.passwords import BcryptPasswordHasher
from security.signing_keys import load_signing_key
from tests.support import processes
from tests.support.databases import throwaway_database
from tests.support.mail import HeldSmtpSink, SmtpSink, held_smtp_sink
from tests.support.oidc_provider import mock_provider
from tests.support.processes import ROOT, RunningProcess

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from bench.peer import Peer
    from bench.wrk import WrkResult

RESULTS = ROOT / "bench" / "results"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BCRYPT_COST = int(os.environ.get("BCRYPT_COST", "12"))  # the gateway's default, unless overridden

ROUNDS = 3  # gateway and baseline alternate, so drift of the machine hits both; medians are reported
LOGIN_ROUNDS = 2  # the gateway's login and the peer's alternate too, SECONDS each
SECONDS = 5.0  # each measured wrk run
WARMUP_SECONDS = 2.0
ME_CONNECTIONS = 16
LOGIN_CONNECTIONS = 4  # enough bcrypt checks in flight to keep every core busy
REFRESH_CHAINS = 8  # one wrk thread and connection per rotation chain
PASSKEY_HOLDERS = 8  # people signing in with their passkey at once (and as many with a password, to compare)
APP_HOLDERS = 24  # accounts with an authenticator app, each signed in once (a code is good once)
MEMORY_WARMUP, MEMORY_MIDDLE, MEMORY_TOTAL = 2_000, 20_000, 100_000

EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple, measured"  # noqa: S105 - the bench user's, in a throwaway database
ISSUER = AUDIENCE = "auth-gateway"
ME_QUERY = "{ me { id email firstName lastName emailVerified createdAt } }"
ERRORS = "... on Error { code message } ... on InvalidInput { fields { field message } }"
REGISTER = f"mutation($i: RegisterInput!) {{ register(input: $i) {{ __typename {ERRORS} }} }}"
SIGNED_IN = f"__typename ... on AuthPayload {{ accessToken refreshToken }} {ERRORS}"
VERIFY = f"mutation($i: VerifyOtpInput!) {{ verifyOtp(input: $i) {{ {SIGNED_IN} }} }}"
LOGIN = f"mutation($i: LoginInput!) {{ login(input: $i) {{ {SIGNED_IN} }} }}"
# The gateway as uvicorn's two workers (one per core), logging the JSON lines server.py logs;
# `{port}` is the free port chosen. A database it serves is migrated by a gateway before it.
TWO_WORKERS_COMMAND = [
    sys.executable,
    "-m",
    "uvicorn",
    "server:app",
    "--workers=2",
    "--host=127.0.0.1",
    "--port={port}",
    "--no-proxy-headers",
    "--no-access-log",
    "--log-config=bench/uvicorn-logging.json",
]
RATE_LIMITS = [
    "LOGIN_PER_IP",
    "VERIFY_PER_IP",
    "VERIFY_PER_ACCOUNT",
    "REGISTER_PER_IP",
    "CODES_PER_ACCOUNT",
    "CODES_PER_ADDRESS",  # the outbox row queues many reset mails to a few addresses
    "REFRESH_PER_IP",
    "REFRESH_PER_ACCOUNT",
    "CODE_REQUESTS_PER_IP",
    "PASSWORD_CHECKS_PER_IP",  # adding a passkey asks for the password
    "PASSWORD_CHECKS_PER_ACCOUNT",
]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {platform.system()}"


def bcrypt_check_seconds(cost: int, samples: int = 5) -> float:
    """The median time of one bcrypt check at ``cost``, the way the gateway runs it (worker thread)."""
    hasher = BcryptPasswordHasher(cost)

    async def measure() -> list[float]:
        password_hash = await hasher.hash(PASSWORD)
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            assert await hasher.verify(PASSWORD, password_hash)
            times.append(time.perf_counter() - started)
        return times

    return statistics.median(asyncio.run(measure()))


def gateway_env(database_url: str, smtp_port: int, signing_key: str) -> dict[str, str]:
    env = {
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_SIGNING_KEY": signing_key,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_STARTTLS": "false",
        "BCRYPT_COST": str(BCRYPT_COST),
        "MIGRATE_ON_START": "true",
        "LOG_FORMAT": "json",
        # wrk comes from one address, as hundreds of users behind one NAT would: lift the limits
        "LOCKOUT_FREE_FAILURES": "100",
        "LOCKOUT_HARD_LIMIT": "100",
        "OTP_RESEND_COOLDOWN_SECONDS": "0",
        # passkeys, for the page of the product that uses them (production has no default origin)
        "WEBAUTHN_RP_ID": second_factors.PASSKEY_RP_ID,
        "WEBAUTHN_ORIGINS": second_factors.PASSKEY_ORIGIN,
    }
    env.update({f"RATE_LIMIT_{name}": "1000000/1m" for name in RATE_LIMITS})
    return env


@contextmanager
def serving(
    name: str, command: Sequence[str], env: dict[str, str], logs: Path, ready_path: str
) -> Iterator[RunningProcess]:
    """Start ``command`` (cwd: the repository; ``{port}`` in it is the free port chosen) with
    ``env``; wait until ``ready_path`` answers 200; stop it on leaving. Its output goes to
    ``logs/<name>.log``."""
    with (logs / f"{name}.log").open("wb") as log:
        server = processes.launch(command, env, name=name, log=log)
        try:
            try:
                server.wait_until_answering(ready_path, timeout=60)
            except AssertionError as problem:
                sys.exit(f"bench: {problem}")
            yield server
        finally:
            server.stop(timeout=30)


def wait_for_workers(server: RunningProcess, count: int, timeout: float = 60.0) -> None:
    """Wait until ``server`` (uvicorn --workers) has ``count`` workers that each answered once."""
    deadline = time.monotonic() + timeout
    while len(server.worker_pids()) < count or server.worker_pids() == [server.process.pid]:
        if time.monotonic() > deadline:
            sys.exit(f"bench: {server.name} did not start {count} workers:\n{server.tail()}")
        time.sleep(0.1)
    for _ in range(20 * count):  # the kernel spreads connections: give every worker its first requests
        httpx.get(server.url + "/readyz", timeout=5)


def graphql(url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    response.raise_for_status()
    return response


def sign_up(gateway: RunningProcess, mailbox: SmtpSink, email: str = EMAIL) -> tuple[str, str]:
    """Register and verify a user through the API; its access token and the exact body of its ``me``."""
    names = {"email": email, "password": PASSWORD, "firstName": "Bench", "lastName": "User"}
    answer = graphql(gateway.url, REGISTER, {"i": names}).json()
    if answer.get("data", {}).get("register", {}).get("__typename") != "OtpSent":
        sys.exit(f"bench: register failed: {answer}")
    code = mailbox.wait_for_code(email)
    answer = graphql(gateway.url, VERIFY, {"i": {"email": email, "code": code, "password": PASSWORD}}).json()
    payload = answer.get("data", {}).get("verifyOtp", {})
    if payload.get("__typename") != "AuthPayload":
        sys.exit(f"bench: verifyOtp failed: {answer}")
    token: str = payload["accessToken"]
    body = graphql(gateway.url, ME_QUERY, token=token).text
    if f'"email":"{email}"' not in body:
        sys.exit(f"bench: me answered {body}")
    return token, body


def sign_up_all(gateway: RunningProcess, mailbox: SmtpSink, emails: list[str]) -> list[str]:
    """``sign_up`` each of ``emails``, one per core (bcrypt); their access tokens, in order."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return [token for token, _ in pool.map(lambda email: sign_up(gateway, mailbox, email), emails)]


def chain_users(gateway: RunningProcess, mailbox: SmtpSink) -> list[str]:
    """One user per refresh chain: many people refreshing, not one person's rotations
    queueing on their own account's rate-limit row."""
    emails = [f"chain-{number}@example.com" for number in range(1, REFRESH_CHAINS + 1)]
    sign_up_all(gateway, mailbox, emails)
    return emails


def mint_refresh_tokens(gateway: RunningProcess, emails: list[str]) -> list[str]:
    """A fresh session for each of ``emails``, by logging in (bcrypt at the configured cost), one per core."""

    def login(email: str) -> str:
        answer = graphql(gateway.url, LOGIN, {"i": {"email": email, "password": PASSWORD}}).json()
        payload = answer["data"]["login"]
        if payload["__typename"] != "AuthPayload":
            raise RuntimeError(f"login failed: {answer}")
        token: str = payload["refreshToken"]
        return token

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(login, emails))


def median_of(results: list[WrkResult], attribute: str) -> float:
    return float(statistics.median(getattr(result, attribute) for result in results))


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids`` (those still there, every thread), in seconds (/proc)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(*servers: RunningProcess, timeout: float = 10.0) -> None:
    """Wait until ``servers`` are idle (under 5 % of a core for 0.3 s): when wrk stops, the
    requests it left in flight are still being answered (a sign-in's bcrypt, a second or more
    of them queued on the peer's event loop), and would take cores from the next run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [pid for server in servers for pid in server.worker_pids()]
        before = cpu_seconds(pids)
        time.sleep(0.3)
        if cpu_seconds(pids) - before < 0.015:
            return


def machine_jiffies() -> tuple[int, int]:
    """The clock ticks all cores have spent busy and in all since boot (/proc/stat; (0, 0) elsewhere)."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0, 0
    ticks = [int(field) for field in stat.read_text().split("\n", 1)[0].split()[1:9]]
    # user nice system idle iowait irq softirq steal: idle and iowait are the idle ones
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


class Bench:
    def __init__(self, wrk: str, logs: Path) -> None:
        self.wrk = wrk
        self.logs = logs
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.warnings: list[str] = []
        self.cores_busy: dict[str, list[float]] = {}  # per run of me: how many cores the machine kept busy

    def record(self, name: str, result: WrkResult) -> WrkResult:
        self.runs.setdefault(name, []).append(result.as_dict())
        if not result.clean:
            self.warnings.append(
                f"{name}: {result.bad} unexpected answers and {result.socket_errors} socket errors "
                f"out of {result.requests} requests; e.g. {' | '.join(result.bad_samples) or '-'}"
            )
        say(
            f"  {name:<22} {result.ok_per_s:9.1f} ok/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
            f"  ({result.ok}/{result.requests} ok)"
        )
        return result

    def me(self, server: RunningProcess, env: dict[str, str], name: str, seconds: float = SECONDS) -> WrkResult:
        busy_before, total_before = machine_jiffies()
        result = wrk_runner.run(self.wrk, server.url, "me.lua", seconds=seconds, connections=ME_CONNECTIONS, env=env)
        busy_after, total_after = machine_jiffies()
        if total_after > total_before:
            share = (busy_after - busy_before) / (total_after - total_before)
            self.cores_busy.setdefault(name, []).append(round(share * (os.cpu_count() or 1), 2))
        return self.record(name, result)

    def skip_peer(self, reason: str) -> None:
        """Say loudly that the peer's rows are left out of this run, and why."""
        message = f"the fastapi-users peer is not measured in this run, its rows are skipped: {reason}"
        rule = "!" * 100
        say(rule)
        say(f"PEER SKIPPED: {message}")
        say(rule)
        self.warnings.append(message)


def start_peer(bench: Bench, stack: ExitStack) -> Peer | None:
    """fastapi-users' app (bench/peer.py), installed when missing, answering on its own database
    until ``stack`` closes; None, said loudly, when it cannot be."""
    try:
        python = peer_app.installed_python(say)
        say(f"starting the peer: fastapi-users' documented app ({peer_app.versions()}), 1 process")
        peer = stack.enter_context(
            peer_app.serving(
                python,
                admin_url=ADMIN_URL,
                logs=bench.logs,
                email=EMAIL,
                password=PASSWORD,
                bcrypt_cost=BCRYPT_COST,
                secret=secrets.token_urlsafe(48),
            )
        )
    except peer_app.PeerUnavailable as problem:
        bench.skip_peer(str(problem))
        return None
    say(f"  registered {EMAIL} through its POST /auth/register; /users/me answers {peer.me_env['BENCH_PEER_ME_BODY']}")
    return peer


def peer_values(
    me_rps: float, login_rps: float, me_runs: list[WrkResult], login_runs: list[WrkResult]
) -> dict[str, Any]:
    """The peer's figures and the gateway's ratios to them (its runs alternated with the gateway's)."""
    peer_me_rps = median_of(me_runs, "ok_per_s")
    peer_login_rps = median_of(login_runs, "ok_per_s")
    return {
        "peer": peer_app.versions(),
        "peer_me_rps": round(peer_me_rps, 1),
        "peer_me_p50_ms": median_of(me_runs, "p50_ms"),
        "peer_me_p99_ms": median_of(me_runs, "p99_ms"),
        "me_ratio_to_peer": round(me_rps / peer_me_rps, 3) if peer_me_rps else 0.0,
        "peer_login_per_s": round(peer_login_rps, 2),
        "peer_login_p50_ms": median_of(login_runs, "p50_ms"),
        "login_ratio_to_peer": round(login_rps / peer_login_rps, 3) if peer_login_rps else 0.0,
    }


def second_factor_rows(
    bench: Bench, gateway: RunningProcess, mailbox: SmtpSink, password_emails: list[str]
) -> dict[str, Any]:
    """Passkey sign-ins against password sign-ins (of ``password_emails``, accounts without a
    second factor), both from the Python driver; then the authenticator app's step against
    the password's, one request at a time. Signs up the accounts it needs first."""
    passkey_emails = [f"passkey-{number}@example.com" for number in range(1, PASSKEY_HOLDERS + 1)]
    app_emails = [f"app-{number}@example.com" for number in range(1, APP_HOLDERS + 1)]
    say(f"second factors: signing up {PASSKEY_HOLDERS} users who add a passkey, {APP_HOLDERS} with an app")
    tokens = sign_up_all(gateway, mailbox, passkey_emails + app_emails)
    passkey_holders = asyncio.run(second_factors.add_passkeys(gateway.url, tokens[:PASSKEY_HOLDERS], PASSWORD))
    app_holders = asyncio.run(second_factors.enrol_apps(gateway.url, app_emails, tokens[PASSKEY_HOLDERS:]))

    say(f"passkey sign-ins: {PASSKEY_HOLDERS} people at once, each signing in again and again, {SECONDS:.0f} s")
    passkey = asyncio.run(
        second_factors.drive(
            gateway.url,
            [holder.sign_in for holder in passkey_holders],
            warmup=WARMUP_SECONDS,
            seconds=SECONDS,
        )
    )
    bench.record("passkey sign-in (driver)", passkey.result)
    say(f"  the driver used {passkey.cpu_percent:.0f} % of a core")
    # as many people as with passkeys, on accounts without a second factor: like for like
    password_people = [second_factors.PasswordHolder(email, PASSWORD) for email in password_emails[:PASSKEY_HOLDERS]]
    say(f"password sign-ins, the same driver: {len(password_people)} people at once, {SECONDS * 2:.0f} s")
    password = asyncio.run(
        second_factors.drive(
            gateway.url,
            [person.sign_in for person in password_people],
            warmup=WARMUP_SECONDS,
            seconds=SECONDS * 2,
        )
    )
    bench.record("login (driver)", password.result)
    say(f"  the driver used {password.cpu_percent:.0f} % of a core")

    say(f"authenticator app: {APP_HOLDERS} sign-ins, one request at a time: every login, then completeSignIn")
    app_steps = asyncio.run(second_factors.time_app_step(gateway.url, app_holders, PASSWORD))
    say(
        f"  login p50 {app_steps.login_p50_ms:.1f} ms ({len(app_steps.login_ms)}), "
        f"completeSignIn p50 {app_steps.complete_p50_ms:.1f} ms ({len(app_steps.complete_ms)})"
    )
    if app_steps.bad_samples:
        bench.warnings.append(
            f"authenticator app: {len(app_steps.bad_samples)} unexpected answers; "
            f"e.g. {' | '.join(app_steps.bad_samples[:5])}"
        )
    return {
        "passkey_sign_ins_per_s": round(passkey.result.ok_per_s, 1),
        "passkey_sign_in_p50_ms": passkey.result.p50_ms,
        "passkey_sign_in_p99_ms": passkey.result.p99_ms,
        "passkey_driver_cpu_percent": passkey.cpu_percent,
        "password_sign_ins_per_s": round(password.result.ok_per_s, 2),
        "password_sign_in_p50_ms": password.result.p50_ms,
        "password_driver_cpu_percent": password.cpu_percent,
        "passkey_ratio_to_password": round(passkey.result.ok_per_s / password.result.ok_per_s, 2)
        if password.result.ok
        else 0.0,
        "app_login_p50_ms": app_steps.login_p50_ms,
        "app_complete_sign_in_p50_ms": app_steps.complete_p50_ms,
        "app_step_ratio_to_login": round(app_steps.complete_p50_ms / app_steps.login_p50_ms, 3),
    }


def delivery_rows(bench: Bench, gateway: RunningProcess, mailbox: HeldSmtpSink, emails: list[str]) -> dict[str, Any]:
    """register with a slow mail server against an instant one; the outbox dispatcher's mails/s."""
    say(
        f"delivery: register one at a time, {delivery.REGISTER_ROUNDS} rounds of {delivery.REGISTERS_PER_ROUND} "
        f"with an instant mail server, then {delivery.REGISTERS_PER_ROUND} with one taking "
        f"{delivery.SLOW_SINK_SECONDS:g} s per message"
    )
    latency = delivery.time_registers(gateway.url, mailbox, PASSWORD)
    values: dict[str, Any] = latency.values()
    say(
        f"  register p50 {values['register_p50_ms_instant_sink']:.1f} ms (instant), "
        f"{values['register_p50_ms_slow_sink']:.1f} ms (slow)"
    )
    say(f"delivery: {delivery.QUEUED_MAILS} mails queued while the mail server holds the first, then let go")
    rate = delivery.time_dispatch(gateway.url, mailbox, emails)
    say(
        f"  {rate.mails} mails in {rate.seconds:.2f} s: {rate.per_second:.0f} mails/s "
        f"(queued in {rate.queueing_seconds:.1f} s)"
    )
    values.update(rate.values())
    bad = latency.bad_samples + rate.bad_samples
    if bad:
        bench.warnings.append(f"delivery: {len(bad)} unexpected answers; e.g. {' | '.join(bad[:5])}")
    return values


def provider_rows(bench: Bench, env: dict[str, str]) -> dict[str, Any]:
    """The provider callback's own latency, with oidc-provider-mock as the provider, on a gateway
    of its own (``env`` and the provider)."""
    with mock_provider() as provider:
        provider_env = {**env, **callback_latency.gateway_env(provider.url)}
        say("provider callback: a gateway offering oidc-provider-mock, on the same database")
        with serving("gateway-provider", [sys.executable, "server.py"], provider_env, bench.logs, "/readyz") as gateway:
            sign_ins = callback_latency.SIGN_INS
            say(f"  {sign_ins} sign-ins, one at a time: the token endpoint alone, then the gateway's callback")
            times = callback_latency.time_callbacks(gateway.url, provider.url, sign_ins)
    values = times.values()
    say(
        f"  callback p50 {values['callback_p50_ms']:.1f} ms, token endpoint p50 {values['provider_token_p50_ms']:.1f} "
        f"ms: the gateway's own p50 {values['callback_own_p50_ms']:.1f} ms, p99 {values['callback_own_p99_ms']:.1f} ms"
    )
    say(
        f"  /healthz p99 {values['probe_alone_p99_ms']:.1f} ms alone, "
        f"{values['probe_during_callbacks_p99_ms']:.1f} ms while callbacks run"
    )
    if times.bad_samples:
        bench.warnings.append(
            f"provider callback: {len(times.bad_samples)} unexpected answers; e.g. {' | '.join(times.bad_samples[:5])}"
        )
    return values


def main_part(part: str) -> None:
    """``--only PART``: one part's rows, on a gateway and database of its own; printed, and
    written to bench/results/logs/PART.json (the full run's files are left as they are)."""
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    say(f"machine: {machine()}")
    signing_key = subprocess.run(
        [sys.executable, "server.py", "generate-key"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    bench = Bench("", logs)
    with throwaway_database("gateway_bench", ADMIN_URL) as database_url, held_smtp_sink() as mailbox:
        env = gateway_env(database_url, mailbox.port, signing_key)
        if part == "provider":
            values = provider_rows(bench, env)
        else:
            with serving("gateway", [sys.executable, "server.py"], env, logs, "/readyz") as gateway:
                sign_up(gateway, mailbox)
                values = delivery_rows(bench, gateway, mailbox, [EMAIL])
    results = report.assemble(
        values, machine=machine(), date=datetime.now(UTC), runs=bench.runs, warnings=bench.warnings, only=part
    )
    (logs / f"{part}.json").write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.table(results))
    for warning in bench.warnings:
        print(f"WARNING: {warning}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", choices=sorted(report.PARTS), help="measure one part's rows alone")
    only = parser.parse_args().only
    if only is not None:
        main_part(only)
        return
    started = time.monotonic()
    wrk = wrk_runner.ensure_wrk()
    # The servers' logs of the last run (gitignored): where a warning's request id leads.
    logs = RESULTS / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    cores = os.cpu_count() or 1
    say(f"machine: {machine()}")

    say(f"bcrypt: timing one check at cost {BCRYPT_COST} in this Python")
    bcrypt_seconds = bcrypt_check_seconds(BCRYPT_COST)
    bcrypt_bound = cores / bcrypt_seconds
    say(f"  one check {bcrypt_seconds * 1000:.1f} ms: bound {bcrypt_bound:.1f} logins/s on {cores} cores")

    signing_key = subprocess.run(
        [sys.executable, "server.py", "generate-key"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    public_keys = json.dumps(load_signing_key(signing_key, "generated", "EdDSA").public().public_jwk())

    values: dict[str, Any] = {}
    with (
        throwaway_database("gateway_bench", ADMIN_URL) as database_url,
        held_smtp_sink() as mailbox,
        ExitStack() as peer_stack,
    ):
        bench = Bench(wrk, logs)
        env = gateway_env(database_url, mailbox.port, signing_key)
        gateway_command = [sys.executable, "server.py"]
        say("starting the gateway (python server.py, 1 process) on a fresh PostgreSQL database")
        with serving("gateway", gateway_command, env, logs, "/readyz") as gateway:
            access_token, me_body = sign_up(gateway, mailbox)
            say(f"  signed up {EMAIL}; me answers {len(me_body)} bytes")
            chain_emails = chain_users(gateway, mailbox)
            say(f"  signed up {len(chain_emails)} more users for the refreshToken chains")
            peer = start_peer(bench, peer_stack)
            me_env = {
                "BENCH_ACCESS_TOKEN": access_token,
                "BENCH_ME_BODY": me_body,
                "BENCH_ME_REQUEST": json.dumps({"query": ME_QUERY}),
            }
            baseline_env = {
                "BENCH_PUBLIC_KEYS": public_keys,
                "BENCH_ALGORITHM": "EdDSA",
                "BENCH_ISSUER": ISSUER,
                "BENCH_AUDIENCE": AUDIENCE,
                "BENCH_ME_BODY": me_body,
            }
            workers_env = {**env, "MIGRATE_ON_START": "false"}  # migrated by the first gateway
            baseline_command = [sys.executable, "-m", "bench.baseline"]
            say("starting the baseline (bench/baseline.py) and the gateway with 2 uvicorn workers")
            with (
                serving("baseline", baseline_command, baseline_env, logs, "/healthz") as baseline,
                serving("gateway-2-workers", TWO_WORKERS_COMMAND, workers_env, logs, "/readyz") as two,
            ):
                check = httpx.post(
                    f"{baseline.url}/graphql",
                    json={"query": ME_QUERY},
                    headers={"Authorization": f"Bearer {access_token}"},
                )
                if check.text != me_body:
                    sys.exit(f"bench: the baseline answers {check.text!r}, the gateway {me_body!r}")
                wait_for_workers(two, 2)
                say("warm-up")
                for server in (gateway, baseline, two):
                    wrk_runner.run(
                        wrk, server.url, "me.lua", seconds=WARMUP_SECONDS, connections=ME_CONNECTIONS, env=me_env
                    )
                if peer:
                    peer_me = functools.partial(
                        wrk_runner.run, wrk, peer.server.url, "peer_me.lua", connections=ME_CONNECTIONS, env=peer.me_env
                    )
                    peer_me(seconds=WARMUP_SECONDS)
                me_runs, baseline_runs, two_runs, peer_me_runs = [], [], [], []
                for round_number in range(1, ROUNDS + 1):
                    also = ", fastapi-users' /users/me" if peer else ""
                    say(f"me, round {round_number}/{ROUNDS}: gateway, baseline, gateway with 2 workers{also}")
                    me_runs.append(bench.me(gateway, me_env, "me"))
                    baseline_runs.append(bench.me(baseline, me_env, "baseline"))
                    two_runs.append(bench.me(two, me_env, "me (2 workers)"))
                    if peer:
                        peer_me_runs.append(bench.record("fastapi-users /users/me", peer_me(seconds=SECONDS)))

            login_env = {
                "BENCH_LOGIN_REQUEST": json.dumps(
                    {"query": LOGIN, "variables": {"i": {"email": EMAIL, "password": PASSWORD}}}
                )
            }
            # Each login run starts once the servers have answered what the run before left in flight.
            servers = (gateway, peer.server) if peer else (gateway,)
            login_runs, peer_login_runs = [], []
            for round_number in range(1, LOGIN_ROUNDS + 1):
                also = ", then fastapi-users' login" if peer else ""
                runs = f"{LOGIN_CONNECTIONS} connections for {SECONDS:.0f} s"
                say(f"login, round {round_number}/{LOGIN_ROUNDS}: {runs}{also}")
                settle(*servers)
                login_runs.append(
                    bench.record(
                        "login",
                        wrk_runner.run(
                            wrk, gateway.url, "login.lua", seconds=SECONDS, connections=LOGIN_CONNECTIONS, env=login_env
                        ),
                    )
                )
                if peer:
                    settle(*servers)
                    peer_login = wrk_runner.run(
                        wrk,
                        peer.server.url,
                        "peer_login.lua",
                        seconds=SECONDS,
                        connections=LOGIN_CONNECTIONS,
                        env=peer.login_env,
                    )
                    peer_login_runs.append(bench.record("fastapi-users login", peer_login))
            settle(*servers)
            peer_stack.close()  # the peer has had its runs: it stops, its database is dropped

            say("me during a login storm: both wrk at once")
            storm = wrk_runner.start(
                wrk, gateway.url, "login.lua", seconds=SECONDS + 2, connections=LOGIN_CONNECTIONS, env=login_env
            )
            time.sleep(1)  # let the storm reach every core first
            me_storm = bench.me(gateway, me_env, "me during login storm")
            bench.record("login (storm)", wrk_runner.finish(storm))
            settle(gateway)

            # refreshToken ÷ me is judged on runs side by side: each round runs me, then the rotations.
            refresh_runs, me_beside_refresh_runs = [], []
            for round_number in range(1, ROUNDS + 1):
                say(f"refreshToken, round {round_number}/{ROUNDS}: me, then {REFRESH_CHAINS} new sessions rotating")
                tokens_file = logs / f"refresh-tokens-{round_number}.txt"
                tokens_file.write_text("\n".join(mint_refresh_tokens(gateway, chain_emails)) + "\n")
                me_beside_refresh_runs.append(bench.me(gateway, me_env, "me (beside refreshToken)"))
                refresh_runs.append(
                    bench.record(
                        "refreshToken",
                        wrk_runner.run(
                            wrk,
                            gateway.url,
                            "refresh.lua",
                            seconds=SECONDS,
                            connections=REFRESH_CHAINS,
                            threads=REFRESH_CHAINS,
                            env={"BENCH_REFRESH_TOKENS": str(tokens_file)},
                        ),
                    )
                )

            values.update(second_factor_rows(bench, gateway, mailbox, chain_emails))
            values.update(delivery_rows(bench, gateway, mailbox, chain_emails))

        values.update(provider_rows(bench, env))

        say("memory: a fresh gateway process, RSS after warm-up, 20 000 and 100 000 me requests")
        with serving("gateway-memory", gateway_command, env, logs, "/readyz") as fresh:
            rss: dict[int, float] = {}
            served = 0
            for target in (MEMORY_WARMUP, MEMORY_MIDDLE, MEMORY_TOTAL):
                result = wrk_runner.run(
                    wrk,
                    fresh.url,
                    "me.lua",
                    seconds=600,  # ended by the script after BENCH_STOP_AFTER answers
                    connections=ME_CONNECTIONS,
                    env={**me_env, "BENCH_STOP_AFTER": str(target - served)},
                )
                served += result.requests
                bench.record(f"me (memory, to {target})", result)
                rss[target] = fresh.rss_mb()
                say(f"  RSS after {served} requests: {rss[target]:.1f} MiB")

    me_rps = median_of(me_runs, "ok_per_s")
    baseline_rps = median_of(baseline_runs, "ok_per_s")
    me_p99 = median_of(me_runs, "p99_ms")
    refresh_rps = median_of(refresh_runs, "ok_per_s")
    me_beside_refresh_rps = median_of(me_beside_refresh_runs, "ok_per_s")
    login_rps = median_of(login_runs, "ok_per_s")
    values.update(
        {
            "me_rps": round(me_rps, 1),
            "me_p50_ms": median_of(me_runs, "p50_ms"),
            "me_p99_ms": me_p99,
            "baseline_rps": round(baseline_rps, 1),
            "baseline_p99_ms": median_of(baseline_runs, "p99_ms"),
            "me_ratio_to_baseline": round(me_rps / baseline_rps, 3),
            "login_per_s": round(login_rps, 2),
            "login_p50_ms": median_of(login_runs, "p50_ms"),
            "login_p99_ms": median_of(login_runs, "p99_ms"),
            "bcrypt_check_ms": round(bcrypt_seconds * 1000, 1),
            "bcrypt_cost": BCRYPT_COST,
            "bcrypt_bound_per_s": round(bcrypt_bound, 2),
            "login_ratio_to_bcrypt_bound": round(login_rps / bcrypt_bound, 3),
            "me_rps_storm": round(me_storm.ok_per_s, 1),
            "me_p99_storm_ms": me_storm.p99_ms,
            "me_p99_storm_ratio": round(me_storm.p99_ms / me_p99, 2),
            "refresh_per_s": round(refresh_rps, 1),
            "me_rps_beside_refresh": round(me_beside_refresh_rps, 1),
            "refresh_ratio_to_me": round(refresh_rps / me_beside_refresh_rps, 3),
            "rss_mb_warm": round(rss[MEMORY_WARMUP], 1),
            "rss_mb_after_20k": round(rss[MEMORY_MIDDLE], 1),
            "rss_mb_after_100k": round(rss[MEMORY_TOTAL], 1),
            "rss_growth_mb_20k_to_100k": round(rss[MEMORY_TOTAL] - rss[MEMORY_MIDDLE], 1),
            "me_rps_2_workers": round(median_of(two_runs, "ok_per_s"), 1),
            # all the machine's cores busy (gateway, PostgreSQL, wrk): no more workers can help
            "cores_busy_me": statistics.median(bench.cores_busy.get("me", [0.0])),
            "cores_busy_2_workers": statistics.median(bench.cores_busy.get("me (2 workers)", [0.0])),
            "workers_2_to_1": round(median_of(two_runs, "ok_per_s") / me_rps, 3),
        }
    )
    if peer_me_runs and peer_login_runs:
        values.update(peer_values(me_rps, login_rps, peer_me_runs, peer_login_runs))
    results = report.assemble(
        values, machine=machine(), date=datetime.now(UTC), runs=bench.runs, warnings=bench.warnings
    )
    results["total_seconds"] = round(time.monotonic() - started, 1)
    results["settings"] = {
        "rounds": ROUNDS,
        "login_rounds": LOGIN_ROUNDS,
        "seconds_per_run": SECONDS,
        "me_connections": ME_CONNECTIONS,
        "login_connections": LOGIN_CONNECTIONS,
        "refresh_chains": REFRESH_CHAINS,
        "passkey_holders": PASSKEY_HOLDERS,
        "password_sign_in_people": min(REFRESH_CHAINS, PASSKEY_HOLDERS),
        "app_holders": APP_HOLDERS,
        "uvicorn_workers": 1,
        "database": "PostgreSQL (fresh database per run)",
    }
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "bench" / "RESULTS.md").write_text(report.markdown(results))
    print()
    print(report.table(results))
    for warning in bench.warnings:
        print(f"WARNING: {warning}")
    say(f"done in {results['total_seconds']:.0f} s: bench/results/latest.json, bench/RESULTS.md; logs in {logs}")


if __name__ == "__main__":
    main()
