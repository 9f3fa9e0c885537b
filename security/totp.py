"""Authenticator-app codes (TOTP, RFC 6238) with pyotp: six digits, 30-second steps, SHA-1,
as every authenticator app reads them from an otpauth:// URI."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

import pyotp

if TYPE_CHECKING:
    from datetime import datetime

DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a phone's clock may be a step ahead or behind


class Totp:
    def new_secret(self) -> str:
        return pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended length

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
            name=account, issuer_name=issuer
        )

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        if len(code) != DIGITS or not code.isascii() or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
        current = totp.timecode(now)
        matched = None
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
            # every candidate is compared, in constant time, whichever matches
            if hmac.compare_digest(totp.generate_otp(step), code):
                matched = step
        return matched
