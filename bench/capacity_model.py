"""The capacity model of docs/capacity.md: from monthly active users and how they use the
product to the peak rates the gateway sees, and what those cost a gateway process and
PostgreSQL at the measured figures (bench/results/latest.json from ``make bench``,
bench/results/capacity.json from ``make capacity``).

``python -m bench.capacity_model`` prints the page's worked table from the latest results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from tests.support.processes import ROOT

RESULTS = ROOT / "bench" / "results"
SECONDS_PER_DAY = 86_400
WORKED_USERS = [10_000, 100_000, 1_000_000, 10_000_000]  # the rows of the page's table


@dataclass(frozen=True)
class Usage:
    """How people use the product (the page's assumptions; change them to yours)."""

    monthly_active_users: int
    daily_share: float = 0.3  # of the month's users, those active on a given day
    sessions_per_day: float = 2.0  # times an active user opens the app in a day
    session_minutes: float = 30.0  # of use per session
    access_token_minutes: float = 15.0  # ACCESS_TOKEN_TTL_SECONDS / 60
    sign_in_share: float = 0.1  # of sessions, those that start with a sign-in; the rest resume with a refresh token
    checks_per_minute: float = 2.0  # session checks (me, forward auth) per minute of use
    peak_factor: float = 3.0  # the busiest hour's rate ÷ the day's average


@dataclass(frozen=True)
class Load:
    """Operations per second in the busiest hour."""

    sessions: float
    refreshes: float
    sign_ins: float
    checks: float


def peak_load(usage: Usage) -> Load:
    """sessions/s = MAU * daily share * sessions per day ÷ 86 400 * peak factor; each session
    refreshes once on opening unless it starts with a sign-in, then once per access-token
    lifetime of use; it checks the session once on opening and then at the check rate."""
    sessions = (
        usage.monthly_active_users * usage.daily_share * usage.sessions_per_day / SECONDS_PER_DAY * usage.peak_factor
    )
    per_session_refreshes = (1 - usage.sign_in_share) + usage.session_minutes / usage.access_token_minutes
    return Load(
        sessions=sessions,
        refreshes=sessions * per_session_refreshes,
        sign_ins=sessions * usage.sign_in_share,
        checks=sessions * (1 + usage.session_minutes * usage.checks_per_minute),
    )


@dataclass(frozen=True)
class Costs:
    """What one operation costs, as measured."""

    me_per_process: float  # me requests/s one gateway process served (make bench: me_rps)
    refresh_per_process: float  # refreshToken rotations/s one process served (make bench: refresh_per_s)
    bcrypt_check_seconds: float  # one password check at the configured cost (make bench: bcrypt_check_ms)
    statements: dict[str, float]  # per operation (make capacity)
    write_transactions: dict[str, float]  # transactions with a commit record, per operation
    wal_bytes: dict[str, float]
    postgres_cpu_ms: dict[str, float]  # PostgreSQL backends' CPU per request (make capacity, 2 processes)

    @classmethod
    def from_results(cls, bench: dict[str, Any], capacity: dict[str, Any]) -> Costs:
        operations = capacity["operations"]
        loaded = capacity["two_gateway_processes"]
        return cls(
            me_per_process=bench["me_rps"],
            refresh_per_process=bench["refresh_per_s"],
            bcrypt_check_seconds=bench["bcrypt_check_ms"] / 1000,
            statements={name: row["statements"] for name, row in operations.items()},
            write_transactions={name: row["commits"] for name, row in operations.items()},
            wal_bytes={name: row["wal_bytes"] for name, row in operations.items()},
            postgres_cpu_ms={name: loaded[name]["postgres_cpu_ms_per_request"] for name in ("me", "refreshToken")},
        )


@dataclass(frozen=True)
class Demand:
    gateway_processes: float  # busy gateway processes' event loops (me and refreshToken)
    bcrypt_cores: float  # cores busy checking passwords (in worker threads, any process)
    statements: float  # per second
    write_transactions: float  # per second: commits PostgreSQL writes to the WAL and flushes
    wal_bytes: float  # per second
    postgres_cores: float  # PostgreSQL CPU for me and refreshToken at the measured CPU per request


def demand(load: Load, costs: Costs) -> Demand:
    """What ``load`` costs at ``costs``: a sign-in is counted as a ``login``."""
    rates = {"me": load.checks, "refreshToken": load.refreshes, "login": load.sign_ins}
    return Demand(
        gateway_processes=load.checks / costs.me_per_process + load.refreshes / costs.refresh_per_process,
        bcrypt_cores=load.sign_ins * costs.bcrypt_check_seconds,
        statements=sum(rate * costs.statements[name] for name, rate in rates.items()),
        write_transactions=sum(rate * costs.write_transactions[name] for name, rate in rates.items()),
        wal_bytes=sum(rate * costs.wal_bytes[name] for name, rate in rates.items()),
        postgres_cores=sum(rates[name] * ms / 1000 for name, ms in costs.postgres_cpu_ms.items()),
    )


def table(users: list[int], usage: Usage, costs: Costs) -> str:
    lines = [
        "| MAU | sessions/s | refreshes/s | sign-ins/s | session checks/s | gateway processes busy "
        "| bcrypt cores | statements/s | write commits/s | WAL KiB/s | PostgreSQL cores |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count in users:
        load = peak_load(replace(usage, monthly_active_users=count))
        need = demand(load, costs)
        lines.append(
            f"| {count:,} | {load.sessions:.2f} | {load.refreshes:.1f} | {load.sign_ins:.2f} | {load.checks:.0f} "
            f"| {need.gateway_processes:.2f} | {need.bcrypt_cores:.2f} | {need.statements:.0f} "
            f"| {need.write_transactions:.0f} | {need.wal_bytes / 1024:.0f} | {need.postgres_cores:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    bench = json.loads((RESULTS / "latest.json").read_text())
    capacity = json.loads((RESULTS / "capacity.json").read_text())
    print(table(WORKED_USERS, Usage(0), Costs.from_results(bench, capacity)))


if __name__ == "__main__":
    main()
