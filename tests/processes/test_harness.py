"""The process harness itself (tests/support/processes.py), on a small stand-in server: a
child that writes far more than a pipe holds before it listens still gets ready, a line can
be waited for, and SIGTERM stops it."""

from __future__ import annotations

import signal
import sys

import pytest

from tests.support.processes import launch, served

# Writes 1 MiB (a pipe holds 64 KiB), then serves GET /readyz on $PORT until SIGTERM.
CHATTY_SERVER = """
import http.server, os, signal, sys
for number in range(16384):
    print(f"line {number:05d} " + "x" * 52)
sys.stdout.flush()
class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()
    def log_message(self, *args):
        print("served", self.path, flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Ready).serve_forever()
"""


async def test_a_chatty_child_gets_ready_its_lines_are_kept_and_sigterm_stops_it() -> None:
    async with served({}, [sys.executable, "-c", CHATTY_SERVER], name="chatty") as process:
        assert await process.line("line 16383") == "line 16383 " + "x" * 52
        assert await process.line("served /readyz")
        assert process.lines[0] == "line 00000 " + "x" * 52
        assert await process.stopped(signal.SIGTERM) == 3


def test_waiting_for_a_line_that_never_comes_fails_with_the_output() -> None:
    process = launch([sys.executable, "-c", "print('only this', flush=True)"], {}, name="quiet")
    try:
        with pytest.raises(AssertionError, match="only this"):
            process.wait_for_line("something else", timeout=5)
    finally:
        assert process.stop() == 0
