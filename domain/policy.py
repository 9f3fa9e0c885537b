from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class AuthPolicy:
    """The tunable rules; ``server.py`` fills it from the settings."""

    product_name: str = "Auth Gateway"
    otp_lifetime: timedelta = timedelta(minutes=10)
    otp_max_attempts: int = 5
    refresh_idle_lifetime: timedelta = timedelta(days=14)
    refresh_absolute_lifetime: timedelta = timedelta(days=30)
    refresh_reuse_grace: timedelta = timedelta(seconds=10)

    def idle_cutoff(self, now: datetime) -> datetime:
        """Sessions last used at or before this have ended by idling (``Session.is_live``)."""
        return now - self.refresh_idle_lifetime
