"""The settings every test gateway starts with: in-process (``make_settings``) or as a real
process (``development_env``, ``production_env``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from security.signing_keys import generate_signing_key
from settings import Settings

JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
# Signs every test gateway's access tokens (EdDSA, the default), production ones included.
SIGNING_KEY = generate_signing_key("EdDSA")
RATE_LIMITS = (
    "login_per_ip",
    "verify_per_ip",
    "verify_per_account",
    "register_per_ip",
    "codes_per_account",
    "codes_per_address",
    "password_checks_per_account",
    "password_checks_per_ip",
    "refresh_per_ip",
    "refresh_per_account",
    "code_requests_per_ip",
)


def make_settings(database_url: str, mail_port: int, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "jwt_secret": JWT_SECRET,
        "jwt_signing_key": json.dumps(SIGNING_KEY.private_jwk()),
        "email_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": mail_port,
        "smtp_timeout_seconds": 5,
        "bcrypt_cost": 4,
        # Out of the way of tests that are not about them; tests/api/test_rate_limits.py
        # sets its own.
        **{f"rate_limit_{name}": "100000/1m" for name in RATE_LIMITS},
        "lockout_free_failures": 100,
        "otp_resend_cooldown_seconds": 0,
        # no purge in the background of tests that move the clock; tests/api/test_retention.py
        # turns it on
        "retention_interval_seconds": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def development_env(smtp_port: int, directory: Path, **overrides: str) -> dict[str, str]:
    """A development gateway process on SQLite under ``directory``, mailing to SMTP; ``overrides`` win."""
    return {
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite://{directory / 'gateway.sqlite3'}",
        "DATA_DIR": str(directory / "data"),
        "JWT_SECRET": JWT_SECRET,
        "BCRYPT_COST": "4",
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        **overrides,
    }


def production_env(database_url: str, smtp_port: int, data_dir: Path, **overrides: str) -> dict[str, str]:
    """A production gateway process (signing with the test key) on ``database_url``; ``overrides`` win."""
    return {
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": JWT_SECRET,
        "JWT_SIGNING_KEY": json.dumps(SIGNING_KEY.private_jwk()),
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "BCRYPT_COST": "4",
        **overrides,
    }
