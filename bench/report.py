"""The bench's results: targets with pass/fail, the JSON document, and the tables people read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

# (measure, key in the results, comparison, target)
TARGETS: list[tuple[str, str, str, float]] = [
    ("me ÷ baseline", "me_ratio_to_baseline", ">=", 0.40),
    ("login ÷ bcrypt bound", "login_ratio_to_bcrypt_bound", ">=", 0.90),
    ("me p99 during login storm ÷ alone", "me_p99_storm_ratio", "<=", 2.5),
    ("refreshToken ÷ me", "refresh_ratio_to_me", ">=", 0.40),
    ("RSS after 100k requests (MiB)", "rss_mb_after_100k", "<=", 100.0),
    ("RSS growth 20k → 100k requests (MiB)", "rss_growth_mb_20k_to_100k", "<=", 5.0),
    ("2 workers ÷ 1 worker (me)", "workers_2_to_1", ">=", 1.6),
    ("passkey sign-ins ÷ password sign-ins", "passkey_ratio_to_password", ">=", 10.0),
    ("completeSignIn (app code) p50 ÷ login p50", "app_step_ratio_to_login", "<=", 0.2),
    ("me ÷ fastapi-users GET /users/me", "me_ratio_to_peer", ">=", 2.5),
    ("login ÷ fastapi-users login (same bcrypt cost)", "login_ratio_to_peer", ">=", 1.8),
    ("register p50, mail server taking 0.5 s ÷ instant", "register_slow_sink_ratio", "<=", 1.2),
    ("outbox dispatcher, mails/s to an instant sink", "outbox_mails_per_s", ">=", 50.0),
    ("provider callback, the gateway's own p50 (ms)", "callback_own_p50_ms", "<=", 25.0),
    ("/healthz p99 while callbacks run (ms)", "probe_during_callbacks_p99_ms", "<=", 25.0),
]
# The rows each part of the bench measures, for ``python -m bench.run --only PART``.
PARTS: dict[str, set[str]] = {
    "delivery": {"register_slow_sink_ratio", "outbox_mails_per_s"},
    "provider": {"callback_own_p50_ms", "probe_during_callbacks_p99_ms"},
}
# Rows that may be missing from a run: the peer's, when it could not be installed or started.
OPTIONAL = {"me_ratio_to_peer", "login_ratio_to_peer"}
DELIVERY_FIGURES = (
    "register_p50_ms_instant_sink",
    "register_p50_ms_slow_sink",
    "outbox_mails",
    "outbox_drain_seconds",
    "outbox_mails_per_s",
)
CALLBACK_FIGURES = (
    "callback_sign_ins",
    "callback_p50_ms",
    "callback_p99_ms",
    "provider_token_p50_ms",
    "provider_token_p99_ms",
    "callback_own_p50_ms",
    "callback_own_p99_ms",
    "probe_alone_p99_ms",
    "probe_during_callbacks_p99_ms",
    "probe_during_callbacks_max_ms",
)
PEER_FIGURES = ("peer_me_rps", "peer_me_p50_ms", "peer_me_p99_ms", "peer_login_per_s", "peer_login_p50_ms")


NOTES = """## About the delivery and provider rows

- **register, slow mail server ÷ instant**: every mail goes out from the outbox after the
  answer, so a mail server that takes 0.5 s per message must not show in `register`'s
  latency; 1.2 leaves room for the machine's noise (register is mostly one bcrypt hash).
- **outbox mails/s**: 500 mails queued at once, then sent to a local sink that answers at
  once. The floor, 50 mails/s, is about 20 times the mail of a million-user
  service's busiest hour even if every sign-in sent a new-device notice (2.1 sign-ins/s
  and 0.06 sign-ups/s: docs/capacity.md), so the backlog of an hour's mail server outage
  (some 8 000 mails) drains in under 3 minutes; below it, the dispatcher's claims or its
  per-mail transactions have got slower.
- **provider callback, the gateway's own p50**: the callback's time less the provider's
  token endpoint timed with the same client just before; what the gateway adds to a
  provider sign-in (two transactions, the ID token's checks, its HTTP client).
- **/healthz p99 while callbacks run**: a probe of the event loop; a call that holds it
  (a blocking read, a CA bundle loaded per request) shows here.
"""


def assemble(
    values: dict[str, Any],
    *,
    machine: str,
    date: datetime,
    runs: dict[str, list[dict[str, Any]]],
    warnings: list[str],
    only: str | None = None,
) -> dict[str, Any]:
    """The results of a run; of one part's rows alone with ``only`` (a key of ``PARTS``)."""
    targets = []
    skipped = []
    for name, key, comparison, target in TARGETS:
        if only is not None and key not in PARTS[only]:
            continue
        if key in OPTIONAL and key not in values:
            skipped.append({"measure": name, "key": key, "target": f"{comparison} {target:g}"})
            continue
        value = float(values[key])
        passed = value >= target if comparison == ">=" else value <= target
        targets.append(
            {"measure": name, "key": key, "value": value, "target": f"{comparison} {target:g}", "pass": passed}
        )
    return {
        "date": date.isoformat(timespec="seconds"),
        "machine": machine,
        **values,
        "targets": targets,
        "all_pass": all(row["pass"] for row in targets),
        "skipped_targets": skipped,  # not measured in this run (see the warnings): neither pass nor fail
        "warnings": warnings,
        "runs": runs,
    }


def table(results: dict[str, Any]) -> str:
    """The targets as a Markdown table (also what the bench prints at the end)."""
    v = results
    measured: dict[str, Callable[[], str]] = {
        "me_ratio_to_baseline": lambda: f"{v['me_rps']:.0f} req/s ÷ {v['baseline_rps']:.0f} req/s",
        "login_ratio_to_bcrypt_bound": lambda: f"{v['login_per_s']:.2f} logins/s ÷ {v['bcrypt_bound_per_s']:.2f}/s",
        "me_p99_storm_ratio": lambda: f"p99 {v['me_p99_storm_ms']:.1f} ms ÷ {v['me_p99_ms']:.1f} ms",
        "refresh_ratio_to_me": lambda: (
            f"{v['refresh_per_s']:.0f} rotations/s ÷ me {v['me_rps_beside_refresh']:.0f} req/s beside them"
        ),
        "rss_mb_after_100k": lambda: f"warm {v['rss_mb_warm']:.1f} MiB",
        "rss_growth_mb_20k_to_100k": lambda: f"{v['rss_mb_after_20k']:.1f} → {v['rss_mb_after_100k']:.1f} MiB",
        "workers_2_to_1": lambda: (
            f"{v['me_rps_2_workers']:.0f} req/s ÷ {v['me_rps']:.0f} req/s; "
            f"cores busy {v.get('cores_busy_2_workers', 0):.2f} ÷ {v.get('cores_busy_me', 0):.2f}"
        ),
        "passkey_ratio_to_password": lambda: (
            f"{v['passkey_sign_ins_per_s']:.0f} sign-ins/s ÷ {v['password_sign_ins_per_s']:.2f}/s"
        ),
        "app_step_ratio_to_login": lambda: (
            f"p50 {v['app_complete_sign_in_p50_ms']:.1f} ms ÷ {v['app_login_p50_ms']:.1f} ms"
        ),
        "me_ratio_to_peer": lambda: f"{v['me_rps']:.0f} req/s ÷ {v['peer_me_rps']:.0f} req/s",
        "login_ratio_to_peer": lambda: f"{v['login_per_s']:.2f} logins/s ÷ {v['peer_login_per_s']:.2f}/s",
        "register_slow_sink_ratio": lambda: (
            f"p50 {v['register_p50_ms_slow_sink']:.1f} ms ÷ {v['register_p50_ms_instant_sink']:.1f} ms"
        ),
        "outbox_mails_per_s": lambda: f"{v['outbox_mails']:.0f} mails in {v['outbox_drain_seconds']:.2f} s",
        "callback_own_p50_ms": lambda: (
            f"callback p50 {v['callback_p50_ms']:.1f} ms, token endpoint p50 {v['provider_token_p50_ms']:.1f} ms; "
            f"own p99 {v['callback_own_p99_ms']:.1f} ms"
        ),
        "probe_during_callbacks_p99_ms": lambda: (
            f"alone p99 {v['probe_alone_p99_ms']:.1f} ms; during, max {v['probe_during_callbacks_max_ms']:.1f} ms"
        ),
    }
    lines = ["| measure | measured | value | target | |", "|---|---|---:|---|---|"]
    for row in results["targets"]:
        verdict = "pass" if row["pass"] else "**FAIL**"
        lines.append(
            f"| {row['measure']} | {measured[row['key']]()} | {row['value']:g} | {row['target']} | {verdict} |"
        )
    for row in results.get("skipped_targets", []):
        lines.append(f"| {row['measure']} | not measured (see the warnings) | | {row['target']} | skipped |")
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    v = results
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run.py); docs/performance.md says what each line measures.",
        "",
        f"- date: {v['date']}",
        f"- machine: {v['machine']}",
        f"- run took {v['total_seconds']:.0f} s; each wrk run {v['settings']['seconds_per_run']:g} s, "
        f"medians of {v['settings']['rounds']} alternating rounds for me, baseline and 2 workers, "
        "and for refreshToken, each beside a run of me",
        f"- login: {v['settings']['login_rounds']} runs of {v['settings']['seconds_per_run']:g} s, medians"
        + (", each followed by the peer's" if "peer" in v else ""),
        f"- peer: fastapi-users' documented app ({v['peer']}), its /users/me in each round of me"
        if "peer" in v
        else "- peer: not measured in this run (see the warnings)",
        "",
        table(results),
        "",
        NOTES,
        "## Figures",
        "",
        "| figure | value |",
        "|---|---:|",
    ]
    for key in (
        "me_rps",
        "me_p50_ms",
        "me_p99_ms",
        "baseline_rps",
        "baseline_p99_ms",
        "login_per_s",
        "login_p50_ms",
        "login_p99_ms",
        "bcrypt_cost",
        "bcrypt_check_ms",
        "bcrypt_bound_per_s",
        "me_rps_storm",
        "me_p99_storm_ms",
        "refresh_per_s",
        "me_rps_beside_refresh",
        "rss_mb_warm",
        "rss_mb_after_20k",
        "rss_mb_after_100k",
        "me_rps_2_workers",
        "cores_busy_me",
        "cores_busy_2_workers",
        "passkey_sign_ins_per_s",
        "passkey_sign_in_p50_ms",
        "passkey_sign_in_p99_ms",
        "passkey_driver_cpu_percent",
        "password_sign_ins_per_s",
        "password_sign_in_p50_ms",
        "password_driver_cpu_percent",
        "app_login_p50_ms",
        "app_complete_sign_in_p50_ms",
        *DELIVERY_FIGURES,
        *CALLBACK_FIGURES,
        *(PEER_FIGURES if "peer" in v else ()),
    ):
        lines.append(f"| `{key}` | {v[key]:g} |")
    lines += [
        "",
        "## Every run",
        "",
        "wrk's, and the Python driver's (the rows marked driver: a passkey or password sign-in, begin to end).",
        "",
        "| run | ok/s | p50 ms | p90 ms | p99 ms | ok | requests | bad | socket errors |",
    ]
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, runs in v["runs"].items():
        for run in runs:
            lines.append(
                f"| {name} | {run['ok_per_s']:g} | {run['p50_ms']:g} | {run['p90_ms']:g} | {run['p99_ms']:g} "
                f"| {run['ok']} | {run['requests']} | {run['bad']} | {run['socket_errors']} |"
            )
    if v["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {warning}" for warning in v["warnings"]]
    return "\n".join(lines) + "\n"
