"""Start-up with bad settings stops with a message naming the variable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from security.signing_keys import generate_signing_key
from tests.support.processes import Finished, run_server_command

ED25519 = generate_signing_key("EdDSA")
RSA_1024_PEM = (
    rsa.generate_private_key(65537, 1024)  # noqa: S505 - the weak key under test
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)


GOOD_WEBHOOK_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def _webhooks(**endpoint: object) -> str:
    return json.dumps({"crm": {"url": "https://crm.example.com/hook", "secret": GOOD_WEBHOOK_SECRET} | endpoint})


def _jwk_with_kid(kid: str) -> str:
    return json.dumps(generate_signing_key("EdDSA").private_jwk() | {"kid": kid})


def _start(tmp_path: Path, **env: str) -> Finished:
    return run_server_command("check", env=env, cwd=tmp_path, only_env=True)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BCRYPT_COST": "twelve"}, "BCRYPT_COST"),
        ({"PORT": "70000"}, "PORT"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"APP_ENV": "production", "EMAIL_BACKEND": "smtp"}, "JWT_SECRET"),
        ({"JWT_SECRET": "too-short"}, "JWT_SECRET"),
        ({"DATABASE_URL": "mysql://db/gateway"}, "DATABASE_URL"),
        ({"RATE_LIMIT_LOGIN_PER_IP": "30 per minute"}, "RATE_LIMIT_LOGIN_PER_IP"),
        ({"RATE_LIMIT_CODES_PER_ACCOUNT": "0/1h"}, "RATE_LIMIT_CODES_PER_ACCOUNT"),
        ({"TRUSTED_PROXIES": "10.0.0.1, proxy.internal"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "*"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "10.0.0.5, *"}, "TRUSTED_PROXIES"),
        ({"LOCKOUT_HARD_LIMIT": "500"}, "LOCKOUT_HARD_LIMIT"),
        ({"LOCKOUT_FIRST_DELAY_SECONDS": "600", "LOCKOUT_MAX_DELAY_SECONDS": "60"}, "LOCKOUT_MAX_DELAY_SECONDS"),
        ({"JWT_ALGORITHM": "RS512"}, "JWT_ALGORITHM"),
        ({"JWT_ALGORITHM": "ES256", "JWT_SIGNING_KEY": ED25519.private_pem()}, "JWT_SIGNING_KEY"),
        ({"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY": RSA_1024_PEM}, "JWT_SIGNING_KEY"),
        ({"JWT_SIGNING_KEY": ED25519.public_pem()}, "JWT_SIGNING_KEY"),
        ({"JWT_SIGNING_KEY_FILE": "/nonexistent/signing.pem"}, "JWT_SIGNING_KEY_FILE"),
        ({"JWT_VERIFICATION_KEY_FILES": "/nonexistent/old.pem"}, "JWT_VERIFICATION_KEY_FILES"),
        ({"JWT_SIGNING_KEY": _jwk_with_kid("k1"), "JWT_VERIFICATION_KEYS": _jwk_with_kid("k1")}, "kid 'k1'"),
        ({"JWT_ALGORITHM": "HS256", "JWT_VERIFICATION_KEYS": ED25519.public_pem()}, "JWT_VERIFICATION_KEYS"),
        ({"PUBLIC_URL": "auth.example.com"}, "PUBLIC_URL"),
        ({"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://example.org"}, "WEBAUTHN_RP_ID"),
        ({"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "http://app.example.com"}, "https"),
        ({"WEBAUTHN_ORIGINS": "https://app.example.com/login"}, "WEBAUTHN_ORIGINS"),
        ({"RETENTION_INTERVAL_SECONDS": "5"}, "RETENTION_INTERVAL_SECONDS"),
        ({"RETENTION_INTERVAL_SECONDS": "-1"}, "RETENTION_INTERVAL_SECONDS"),
        ({"RETENTION_AUDIT_DAYS": "a year"}, "RETENTION_AUDIT_DAYS"),
        ({"RETENTION_BATCH_SIZE": "0"}, "RETENTION_BATCH_SIZE"),
        ({"RETENTION_OUTBOX_DEAD_DAYS": "0"}, "RETENTION_OUTBOX_DEAD_DAYS"),
        ({"RETENTION_OUTBOX_SENT_DAYS": "a week"}, "RETENTION_OUTBOX_SENT_DAYS"),
        ({"RETENTION_KNOWN_DEVICE_DAYS": "0"}, "RETENTION_KNOWN_DEVICE_DAYS"),
        ({"WEBHOOK_ENDPOINTS": _webhooks(secret="whsec_c2hvcnQ=")}, "WEBHOOK_ENDPOINTS_CRM_SECRET"),
        ({"WEBHOOK_ENDPOINTS": _webhooks(secret="not-a-whsec-secret-at-all-0123456789")}, "webhook secret"),
        ({"WEBHOOK_ENDPOINTS": _webhooks(events=["user.exploded"])}, "WEBHOOK_ENDPOINTS_CRM_EVENTS"),
        ({"WEBHOOK_ENDPOINTS": _webhooks(events=[])}, "WEBHOOK_ENDPOINTS_CRM_EVENTS"),
        ({"WEBHOOK_ENDPOINTS": _webhooks(url="ftp://crm.example.com/hook")}, "WEBHOOK_ENDPOINTS_CRM_URL"),
        ({"WEBHOOK_ENDPOINTS": json.dumps({"CRM!": json.loads(_webhooks())["crm"]})}, "WEBHOOK_ENDPOINTS"),
        (
            {"WEBHOOK_ENDPOINTS": _webhooks(), "WEBHOOK_TIMEOUT_SECONDS": "30", "OUTBOX_CLAIM_LEASE_SECONDS": "20"},
            "WEBHOOK_TIMEOUT_SECONDS",
        ),
    ],
)
def test_bad_value_stops_with_the_variable_named(tmp_path: Path, env: dict[str, str], named: str) -> None:
    result = _start(tmp_path, **env)
    assert result.status == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_a_refused_webhook_setting_does_not_echo_its_secret(tmp_path: Path) -> None:
    result = _start(tmp_path, WEBHOOK_ENDPOINTS=_webhooks(url="ftp://crm.example.com/hook"))
    assert result.status == 2
    assert GOOD_WEBHOOK_SECRET.removeprefix("whsec_") not in result.stderr + result.stdout


APPLE_KEY_TEXT = "-----BEGIN PRIVATE KEY-----\nnot-the-teams-key-0123\n-----END PRIVATE KEY-----\n"


def _apple(**more: object) -> dict[str, str]:
    apple = {"kind": "apple", "client_id": "com.example.web", "team_id": "TEAM123456", "key_id": "KEY1234567"}
    return {"OIDC_PROVIDERS": json.dumps({"apple": apple | more}), "OIDC_RETURN_URLS": "https://app.example.com/in"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (_apple(private_key=APPLE_KEY_TEXT), "OIDC_PROVIDERS[apple]"),
        (_apple(private_key_file="/nonexistent/AuthKey.p8"), "OIDC_PROVIDERS[apple]"),
        (_apple(), "OIDC_PROVIDERS_APPLE"),
    ],
    ids=["not-a-key", "no-file", "no-key"],
)
def test_an_apple_provider_without_a_usable_key_stops_without_showing_it(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = _start(tmp_path, **env)
    assert result.status == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-the-teams-key" not in result.stderr + result.stdout


PRODUCTION = {"APP_ENV": "production", "EMAIL_BACKEND": "smtp", "JWT_ALGORITHM": "HS256", "JWT_SECRET": "s" * 40}


@pytest.mark.parametrize("url", ["http://crm.example.com/hook", "http://10.0.0.7:8080/hook", "HTTP://[fd00::7]/hook"])
def test_production_refuses_a_webhook_endpoint_over_http(tmp_path: Path, url: str) -> None:
    result = _start(tmp_path, **PRODUCTION, WEBHOOK_ENDPOINTS=_webhooks(url=url))
    assert result.status == 2
    assert "WEBHOOK_ENDPOINTS: endpoint 'crm' must use https when APP_ENV=production" in result.stderr
    assert "Traceback" not in result.stderr
    assert GOOD_WEBHOOK_SECRET.removeprefix("whsec_") not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("env", "url"),
    [
        (PRODUCTION, "https://crm.example.com/hook"),
        (PRODUCTION, "http://127.0.0.1:9000/hook"),  # a receiver on this machine: no network crossed
        (PRODUCTION, "http://localhost:9000/hook"),
        (PRODUCTION, "http://[::1]:9000/hook"),
        ({}, "http://crm.example.com/hook"),  # development
    ],
)
def test_https_or_a_receiver_on_this_machine_passes(tmp_path: Path, env: dict[str, str], url: str) -> None:
    result = _start(tmp_path, **env, WEBHOOK_ENDPOINTS=_webhooks(url=url))
    assert result.status == 0, result.stderr
    assert "configuration OK" in result.stdout


def test_good_settings_pass_the_check(tmp_path: Path) -> None:
    result = _start(tmp_path)
    assert result.status == 0, result.stderr
    assert "configuration OK" in result.stdout


@pytest.mark.parametrize("proxies", ["*", "10.0.0.5,*", "0.0.0.0/0", "::/0"])
def test_trusting_every_address_is_refused_with_what_to_do_instead(tmp_path: Path, proxies: str) -> None:
    # Every client could then choose its own address in X-Forwarded-For, and with it a fresh
    # budget of every per-address limit.
    result = _start(tmp_path, TRUSTED_PROXIES=proxies)
    assert result.status == 2
    assert "TRUSTED_PROXIES" in result.stderr
    assert "would let every client say which address it has" in result.stderr
    assert "list the addresses of your reverse proxies" in result.stderr
    assert "Traceback" not in result.stderr


def test_trusted_proxies_may_be_addresses_and_networks(tmp_path: Path) -> None:
    result = _start(tmp_path, TRUSTED_PROXIES="10.0.0.5, 10.1.0.0/16, fd00::/8, 127.0.0.1")
    assert result.status == 0, result.stderr


def test_a_bad_trusted_document_stops_the_check_with_its_id(tmp_path: Path) -> None:
    good, bad = "{ __typename }", "{ me { password } }"
    manifest = tmp_path / "persisted-documents.json"
    ids = {hashlib.sha256(text.encode()).hexdigest(): text for text in (good, bad)}
    manifest.write_text(json.dumps(ids))
    result = _start(tmp_path, TRUSTED_DOCUMENTS=str(manifest), TRUSTED_DOCUMENTS_ONLY="true")
    assert result.status == 2
    assert f"the document {hashlib.sha256(bad.encode()).hexdigest()} is refused" in result.stderr
    assert "Traceback" not in result.stderr
    manifest.write_text(json.dumps({hashlib.sha256(good.encode()).hexdigest(): good}))
    assert _start(tmp_path, TRUSTED_DOCUMENTS=str(manifest), TRUSTED_DOCUMENTS_ONLY="true").status == 0
