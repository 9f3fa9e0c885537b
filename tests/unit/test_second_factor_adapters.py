"""The adapters behind second factors: TOTP codes (pyotp) and sealed secrets (AES-GCM)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from security.sealing import AesGcmSealer
from security.totp import Totp

NOW = datetime(2030, 1, 1, 12, 0, 10, tzinfo=UTC)
KEY = bytes(range(32))


class TestTotp:
    def test_accepts_the_current_step_and_one_either_side_only(self) -> None:
        totp = Totp()
        secret = totp.new_secret()
        app = pyotp.TOTP(secret)
        current = app.timecode(NOW)
        for offset in (-1, 0, 1):
            assert totp.matching_step(secret, app.at(NOW + timedelta(seconds=30 * offset)), NOW) == current + offset
        for offset in (-2, 2):
            assert totp.matching_step(secret, app.at(NOW + timedelta(seconds=30 * offset)), NOW) is None

    @pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"], ids=repr)
    def test_refuses_anything_but_six_ascii_digits(self, code: str) -> None:
        totp = Totp()
        assert totp.matching_step(totp.new_secret(), code, NOW) is None

    def test_secrets_are_160_random_bits_and_the_uri_names_account_and_issuer(self) -> None:
        totp = Totp()
        secret = totp.new_secret()
        assert len(secret) == 32
        assert secret != totp.new_secret()
        uri = totp.provisioning_uri(secret, "ann@example.com", "Acme")
        assert uri.startswith("otpauth://totp/Acme:ann%40example.com?")
        assert f"secret={secret}" in uri


class TestSealing:
    def test_opens_what_it_sealed_for_the_same_context_only(self) -> None:
        sealer = AesGcmSealer(KEY)
        account = uuid.uuid4().bytes
        sealed = sealer.seal(b"JBSWY3DPEHPK3PXP", account)
        assert b"JBSWY3DPEHPK3PXP" not in sealed
        assert sealer.open(sealed, account) == b"JBSWY3DPEHPK3PXP"
        assert sealer.seal(b"JBSWY3DPEHPK3PXP", account) != sealed  # a new nonce each time
        with pytest.raises(ValueError, match="changed"):
            sealer.open(sealed, uuid.uuid4().bytes)  # moved to another account's row

    def test_refuses_a_changed_value_or_another_key(self) -> None:
        sealed = AesGcmSealer(KEY).seal(b"secret", b"context")
        flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
        with pytest.raises(ValueError, match="changed"):
            AesGcmSealer(KEY).open(flipped, b"context")
        with pytest.raises(ValueError, match="another key"):
            AesGcmSealer(bytes(32)).open(sealed, b"context")
        with pytest.raises(ValueError, match="not a sealed secret"):
            AesGcmSealer(KEY).open(b"\x02" + sealed[1:], b"context")
