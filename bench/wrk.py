"""Running wrk with one of bench/lua's scripts and reading the JSON line its done() prints."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "lua"
MARKER = "BENCH_JSON "
BAD = "BENCH_BAD "
STOPPED = "BENCH_STOPPED"


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: its answers (ok: the ones the script accepted) and latencies in milliseconds."""

    requests: int
    ok: int
    bad: int
    socket_errors: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    bad_samples: tuple[str, ...] = ()  # status and start of body of a few unaccepted answers

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        return self.bad == 0 and self.socket_errors == 0 and self.ok > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "bad": self.bad,
            "socket_errors": self.socket_errors,
            "seconds": round(self.seconds, 3),
            "ok_per_s": round(self.ok_per_s, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "bad_samples": list(self.bad_samples),
        }


def ensure_wrk() -> str:
    """The path of wrk, installed with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("bench: wrk is not installed; install it (Debian/Ubuntu: sudo apt-get install -y wrk) and rerun")
    print("bench: installing wrk (apt-get install -y wrk)", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, stdout=subprocess.DEVNULL)  # noqa: S607
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: apt-get did not provide wrk")
    return found


def start(
    wrk: str,
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start a wrk run (``script`` is a file of bench/lua); ``finish`` waits for it and parses it."""
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={LUA / script}",
        url,
    ]
    return subprocess.Popen(  # noqa: S603 - our own command line
        command,
        cwd=ROOT,  # the scripts find summary.lua as bench/lua/summary.lua
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> WrkResult:
    """Wait for a run to end (SIGINT ends one whose script has stopped its threads) and parse it."""
    assert process.stdout is not None
    output_lines = []
    try:
        for line in process.stdout:
            output_lines.append(line)
            if line.startswith(STOPPED):
                process.send_signal(signal.SIGINT)  # wrk then prints its summary and done()'s line
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(output_lines)
    lines = [line for line in output.splitlines() if line.startswith(MARKER)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    data = json.loads(lines[-1][len(MARKER) :])
    latency = data["latency_us"]["percentiles"]
    return WrkResult(
        requests=data["requests"],
        ok=data["ok"],
        bad=data["bad"],
        socket_errors=sum(data["errors"].values()),
        seconds=data["duration_us"] / 1e6,
        p50_ms=round(latency["50"] / 1000, 2),
        p90_ms=round(latency["90"] / 1000, 2),
        p99_ms=round(latency["99"] / 1000, 2),
        bad_samples=tuple(line[len(BAD) :] for line in output.splitlines() if line.startswith(BAD))[:5],
    )


def run(
    wrk: str,
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    env: dict[str, str] | None = None,
) -> WrkResult:
    return finish(start(wrk, url, script, seconds=seconds, connections=connections, threads=threads, env=env))
