"""``python server.py generate-key``: a key production starts with, written to a new file only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from security.signing_keys import AsymmetricAlgorithm, load_signing_key
from tests.support.processes import run_server_command
from tests.support.settings import JWT_SECRET

ALGORITHMS: list[AsymmetricAlgorithm] = ["EdDSA", "ES256", "RS256"]

PRODUCTION = {"APP_ENV": "production", "EMAIL_BACKEND": "smtp", "JWT_SECRET": JWT_SECRET}


class TestGenerateKeyCommand:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_prints_a_private_jwk_that_production_starts_with(
        self, tmp_path: Path, algorithm: AsymmetricAlgorithm
    ) -> None:
        generated = run_server_command("generate-key", "--alg", algorithm, cwd=tmp_path, only_env=True)
        assert generated.status == 0, generated.stderr
        jwk = json.loads(generated.stdout)
        assert (jwk["alg"], jwk["use"]) == (algorithm, "sig")
        assert load_signing_key(generated.stdout, "stdout", algorithm).kid == jwk["kid"]

        checked = run_server_command(
            "check",
            cwd=tmp_path,
            only_env=True,
            env={"JWT_ALGORITHM": algorithm, "JWT_SIGNING_KEY": generated.stdout, **PRODUCTION},
        )
        assert checked.status == 0, checked.stderr

    def test_writes_an_eddsa_pem_to_a_new_file_only(self, tmp_path: Path) -> None:
        out = tmp_path / "signing.pem"
        written = run_server_command("generate-key", "--format", "pem", "--out", str(out), cwd=tmp_path, only_env=True)
        assert written.status == 0, written.stderr
        assert out.stat().st_mode & 0o777 == 0o600
        key = load_signing_key(out.read_text(), str(out), "EdDSA")
        assert key.kid in written.stdout

        again = run_server_command("generate-key", "--format", "pem", "--out", str(out), cwd=tmp_path, only_env=True)
        assert again.status == 2
        assert "never overwritten" in again.stderr
        assert load_signing_key(out.read_text(), str(out), "EdDSA").kid == key.kid

    def test_production_without_a_signing_key_does_not_start(self, tmp_path: Path) -> None:
        refused = run_server_command("check", cwd=tmp_path, only_env=True, env={**PRODUCTION})
        assert refused.status == 2
        assert "JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE is required" in refused.stderr
        assert "generate-key" in refused.stderr
        assert "Traceback" not in refused.stderr
