"""A clock a test can move forward."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.clock import SystemClock


class AdjustableClock(SystemClock):
    """The real time, plus whatever a test moves it forward by."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return super().now() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
