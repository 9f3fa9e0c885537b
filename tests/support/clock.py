"""A clock a test can move forward."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.clock import SystemClock


class AdjustableClock(SystemClock):
    """The real time, plus whatever a test moves it forward by; ``frozen``: the time it was
    made, moved only by the test (for exact waits, which a busy machine's second would blur)."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.offset = timedelta()
        self._frozen_at = super().now() if frozen else None

    def now(self) -> datetime:
        return (self._frozen_at or super().now()) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
