"""Keys derived from the one server secret, one per purpose."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


def secret_hash(value: str) -> str:
    """How a random value of ours that travels to a client (a state, a one-time code, a link's
    token) is kept: its SHA-256, which is all a lookup needs and useless to whoever reads it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def derive_key(server_secret: bytes, purpose: str) -> bytes:
    """Domain separation: a leak of one derived key says nothing of the others."""
    return hmac.new(server_secret, b"auth-gateway/" + purpose.encode("ascii"), hashlib.sha256).digest()


@dataclass(frozen=True)
class KeyRing:
    access_token: bytes
    otp: bytes
    refresh_token: bytes
    throttle: bytes
    factor_secret: bytes  # seals authenticator-app secrets in the database
    recovery_code: bytes  # keys the hashes of recovery codes
    mail_outbox: bytes  # seals the mails (addresses, codes) waiting in the outbox
    known_device: bytes  # keys the hashes of the devices an account signed in from

    @classmethod
    def from_secret(cls, server_secret: bytes) -> KeyRing:
        return cls(
            access_token=derive_key(server_secret, "access-token"),
            otp=derive_key(server_secret, "otp"),
            refresh_token=derive_key(server_secret, "refresh-token"),
            throttle=derive_key(server_secret, "throttle"),
            factor_secret=derive_key(server_secret, "factor-secret"),
            recovery_code=derive_key(server_secret, "recovery-code"),
            mail_outbox=derive_key(server_secret, "mail-outbox"),
            known_device=derive_key(server_secret, "known-device"),
        )
