"""The bench's arithmetic: what an operation cost PostgreSQL, the capacity model of
docs/capacity.md, percentiles, and the report of one part of the bench. No timing here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench import report
from bench.accounting import Statement, transactions, wal_summary
from bench.callback_latency import CallbackTimes, percentile
from bench.capacity_model import Costs, Usage, demand, peak_load


def statement(sql: str, in_transaction: bool) -> Statement:
    return Statement(sql, in_transaction, prepared=False)


def test_a_transaction_is_a_begin_or_a_statement_on_its_own() -> None:
    sent = [
        statement("BEGIN;", False),
        statement("SELECT * FROM sessions WHERE id = $1 FOR UPDATE", True),
        statement("UPDATE sessions SET generation = $1", True),
        statement("COMMIT;", True),
        statement("SELECT users.* FROM users JOIN sessions ON …", False),
    ]

    assert transactions(sent) == 2


def test_the_wal_of_an_operation_counts_rows_written_locked_and_indexed() -> None:
    def record(manager: str, kind: str, length: int, fpi: int = 0) -> dict[str, object]:
        return {"resource_manager": manager, "record_type": kind, "record_length": length, "fpi_length": fpi}

    records = [
        record("Heap", "LOCK", 54),
        record("Heap", "HOT_UPDATE", 80),
        record("Heap", "INSERT+INIT", 8200, fpi=8100),
        record("Heap", "DELETE", 54),
        record("Btree", "INSERT_LEAF", 64),
        record("Btree", "INSERT_LEAF", 72),
        record("Btree", "DEDUP", 136),
        record("Transaction", "COMMIT", 34),
    ]

    assert wal_summary(records) == {
        "wal_bytes": 8694,
        "fpi_bytes": 8100,
        "rows_written": 3,
        "row_locks": 1,
        "index_entries": 2,
        "commits": 1,
    }


def test_the_peak_rates_follow_the_formula_of_the_capacity_page() -> None:
    # one session a second on average, and the busiest hour twice the average
    usage = Usage(
        monthly_active_users=86_400,
        daily_share=1.0,
        sessions_per_day=1.0,
        session_minutes=30.0,
        access_token_minutes=15.0,
        sign_in_share=0.1,
        checks_per_minute=2.0,
        peak_factor=2.0,
    )

    load = peak_load(usage)

    assert load.sessions == pytest.approx(2.0)
    assert load.sign_ins == pytest.approx(0.2)  # a tenth of the sessions start with a sign-in
    assert load.refreshes == pytest.approx(2.0 * (0.9 + 2))  # on opening unless signed in, then every 15 minutes
    assert load.checks == pytest.approx(2.0 * (1 + 60))  # on opening, then twice a minute for 30 minutes


def test_ten_times_the_users_is_ten_times_the_load() -> None:
    small, large = peak_load(Usage(10_000)), peak_load(Usage(100_000))

    assert large.refreshes == pytest.approx(10 * small.refreshes)
    assert large.checks == pytest.approx(10 * small.checks)


def test_the_demand_adds_each_operation_at_its_measured_cost() -> None:
    load = peak_load(Usage(86_400, daily_share=1.0, sessions_per_day=1.0, peak_factor=1.0, sign_in_share=0.5))
    costs = Costs(
        me_per_process=1000.0,
        refresh_per_process=500.0,
        bcrypt_check_seconds=0.2,
        statements={"me": 1, "refreshToken": 12, "login": 24},
        write_transactions={"me": 0, "refreshToken": 2, "login": 3},
        wal_bytes={"me": 0, "refreshToken": 1500, "login": 2400},
        postgres_cpu_ms={"me": 0.1, "refreshToken": 2.0},
    )

    need = demand(load, costs)

    # 1 session/s: 61 checks, 0.5 + 2 refreshes, 0.5 sign-ins
    assert need.gateway_processes == pytest.approx(61 / 1000 + 2.5 / 500)
    assert need.bcrypt_cores == pytest.approx(0.5 * 0.2)
    assert need.statements == pytest.approx(61 * 1 + 2.5 * 12 + 0.5 * 24)
    assert need.write_transactions == pytest.approx(2.5 * 2 + 0.5 * 3)
    assert need.wal_bytes == pytest.approx(2.5 * 1500 + 0.5 * 2400)
    assert need.postgres_cores == pytest.approx(61 * 0.0001 + 2.5 * 0.002)


def test_a_percentile_is_the_nearest_rank() -> None:
    values = [float(number) for number in range(100, 0, -1)]  # 100 … 1, unsorted on purpose

    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0, 3.0], 0.99) == 7.0


def test_the_gateways_own_part_of_a_callback_is_each_callback_less_its_token_exchange() -> None:
    times = CallbackTimes(callback_ms=[30.0, 40.0, 100.0], token_ms=[20.0, 25.0, 90.0])

    assert times.own_ms == [10.0, 15.0, 10.0]


def test_one_part_of_the_bench_reports_its_own_rows_only() -> None:
    values = {
        "register_p50_ms_instant_sink": 200.0,
        "register_p50_ms_slow_sink": 260.0,
        "register_slow_sink_ratio": 1.3,
        "outbox_mails": 500,
        "outbox_drain_seconds": 5.0,
        "outbox_mails_per_s": 100.0,
    }

    results = report.assemble(
        values, machine="test", date=datetime(2026, 11, 30, tzinfo=UTC), runs={}, warnings=[], only="delivery"
    )

    assert [(row["key"], row["pass"]) for row in results["targets"]] == [
        ("register_slow_sink_ratio", False),
        ("outbox_mails_per_s", True),
    ]
    assert "| register p50, mail server taking 0.5 s ÷ instant | p50 260.0 ms ÷ 200.0 ms | 1.3 |" in report.table(
        results
    )
