from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa, x25519

from security.signing_keys import (
    AccessTokenKey,
    AccessTokenKeys,
    AsymmetricAlgorithm,
    InvalidSigningKey,
    generate_signing_key,
    load_keys,
    load_signing_key,
)
from tests.unit.keys import signing_key

ALGORITHMS: list[AsymmetricAlgorithm] = ["EdDSA", "ES256", "RS256"]
KEYS = {algorithm: signing_key(algorithm) for algorithm in ALGORITHMS}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

# RFC 8037, appendix A.1 and A.3: an Ed25519 key and its RFC 7638 thumbprint.
RFC8037_KEY = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def pem(native: Any, *, private: bool = True, traditional: bool = False) -> str:
    if private:
        form = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
        data: bytes = native.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())
    else:
        data = native.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return data.decode("ascii")


def public_jwk(algorithm: AsymmetricAlgorithm) -> dict[str, Any]:
    return KEYS[algorithm].public_jwk()


class TestLoadKeys:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_reads_a_private_pem_and_names_it_by_its_thumbprint(self, algorithm: AsymmetricAlgorithm) -> None:
        generated = KEYS[algorithm]
        [key] = load_keys(generated.private_pem(), "JWT_SIGNING_KEY", algorithm)
        assert key.is_private
        assert key.kid == generated.key.thumbprint()
        assert key.algorithm == algorithm

    @pytest.mark.parametrize(
        ("algorithm", "native"),
        [("RS256", signing_key("RS256").key.private_key), ("ES256", ec.generate_private_key(ec.SECP256R1()))],
        ids=["RSA PRIVATE KEY", "EC PRIVATE KEY"],
    )
    def test_reads_the_traditional_pem_forms(self, algorithm: AsymmetricAlgorithm, native: Any) -> None:
        [key] = load_keys(pem(native, traditional=True), "a file", algorithm)
        assert key.is_private

    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_a_public_pem_has_the_same_kid_as_its_private_key(self, algorithm: AsymmetricAlgorithm) -> None:
        generated = KEYS[algorithm]
        public_pem = generated.public_pem()
        [key] = load_keys(public_pem, "a file", algorithm)
        assert not key.is_private
        assert key.kid == generated.kid

    def test_reads_several_pem_blocks(self) -> None:
        other = generate_signing_key("EdDSA")
        text = KEYS["EdDSA"].private_pem() + "\n" + other.public_pem()
        keys = load_keys(text, "JWT_VERIFICATION_KEYS", "EdDSA")
        assert [key.kid for key in keys] == [KEYS["EdDSA"].kid, other.kid]
        assert [key.source for key in keys] == ["JWT_VERIFICATION_KEYS, key 1", "JWT_VERIFICATION_KEYS, key 2"]

    def test_reads_a_jwk_a_jwk_set_and_an_array_of_jwks(self) -> None:
        jwk = public_jwk("ES256")
        other = generate_signing_key("ES256").public_jwk()
        assert [k.kid for k in load_keys(json.dumps(jwk), "s", "ES256")] == [jwk["kid"]]
        assert [k.kid for k in load_keys(json.dumps({"keys": [jwk, other]}), "s", "ES256")] == [
            jwk["kid"],
            other["kid"],
        ]
        assert [k.kid for k in load_keys(json.dumps([other, jwk]), "s", "ES256")] == [other["kid"], jwk["kid"]]

    def test_the_kid_is_the_jwks_own(self) -> None:
        [key] = load_keys(json.dumps(RFC8037_KEY | {"kid": "2030-01"}), "s", "EdDSA")
        assert key.kid == "2030-01"

    def test_without_one_the_kid_is_the_rfc_7638_thumbprint(self) -> None:
        [private] = load_keys(json.dumps(RFC8037_KEY), "s", "EdDSA")
        [public] = load_keys(json.dumps({k: v for k, v in RFC8037_KEY.items() if k != "d"}), "s", "EdDSA")
        assert private.kid == public.kid == RFC8037_THUMBPRINT


def refusal(text: str, algorithm: AsymmetricAlgorithm = "EdDSA") -> str:
    with pytest.raises(InvalidSigningKey) as refused:
        load_keys(text, "THE_SOURCE", algorithm)
    message = str(refused.value)
    assert message.startswith("THE_SOURCE"), message
    return message


class TestLoadKeysRefuses:
    @pytest.mark.parametrize(
        ("algorithm", "key_of"),
        [
            ("EdDSA", "ES256"),
            ("EdDSA", "RS256"),
            ("ES256", "EdDSA"),
            ("ES256", "RS256"),
            ("RS256", "EdDSA"),
            ("RS256", "ES256"),
        ],
    )
    def test_a_key_of_another_type(self, algorithm: AsymmetricAlgorithm, key_of: AsymmetricAlgorithm) -> None:
        assert f"but {algorithm} needs" in refusal(KEYS[key_of].private_pem(), algorithm)
        assert f"but {algorithm} needs" in refusal(json.dumps(public_jwk(key_of) | {"alg": algorithm}), algorithm)

    def test_an_ec_key_on_another_curve(self) -> None:
        assert "P-384" in refusal(pem(ec.generate_private_key(ec.SECP384R1())), "ES256")

    @pytest.mark.parametrize(
        "native", [x25519.X25519PrivateKey.generate(), ed448.Ed448PrivateKey.generate()], ids=["X25519", "Ed448"]
    )
    def test_an_okp_key_that_is_not_ed25519(self, native: Any) -> None:
        refusal(pem(native))

    def test_an_rsa_key_under_2048_bits_as_pem_or_jwk(self) -> None:
        small = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the weak key under test
        assert "1024 bits" in refusal(pem(small), "RS256")
        assert "1024 bits" in refusal(pem(small, private=False), "RS256")
        modulus = small.public_key().public_numbers().n.to_bytes(128, "big")
        n = base64.urlsafe_b64encode(modulus).rstrip(b"=").decode()
        assert "1024 bits" in refusal(json.dumps({"kty": "RSA", "n": n, "e": "AQAB"}), "RS256")

    def test_a_symmetric_jwk(self) -> None:
        assert "JWT_SECRET" in refusal(json.dumps({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}))

    def test_a_jwk_meant_for_another_algorithm_or_use(self) -> None:
        assert "alg ES256" in refusal(json.dumps(public_jwk("EdDSA") | {"alg": "ES256"}))
        assert "use is 'enc'" in refusal(json.dumps(public_jwk("EdDSA") | {"use": "enc"}))

    def test_a_kid_that_is_not_a_string(self) -> None:
        refusal(json.dumps(public_jwk("EdDSA") | {"kid": 7}))

    def test_an_encrypted_pem(self) -> None:
        native = ec.generate_private_key(ec.SECP256R1())
        encrypted = native.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
        assert "encrypted" in refusal(encrypted.decode(), "ES256")

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "not a key",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            '{"kty": "OKP"',
            '{"keys": []}',
            '{"kty": "OKP", "crv": "Ed25519"}',
            "[1, 2]",
        ],
        ids=["empty", "prose", "certificate", "bad PEM", "bad JSON", "empty set", "JWK without x", "not JWKs"],
    )
    def test_what_is_no_key(self, text: str) -> None:
        refusal(text)


class TestLoadSigningKey:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_refuses_a_public_key(self, algorithm: AsymmetricAlgorithm) -> None:
        with pytest.raises(InvalidSigningKey, match="a public key cannot sign"):
            load_signing_key(json.dumps(public_jwk(algorithm)), "JWT_SIGNING_KEY", algorithm)

    def test_refuses_two_keys(self) -> None:
        text = KEYS["EdDSA"].private_pem() + generate_signing_key("EdDSA").private_pem()
        with pytest.raises(InvalidSigningKey, match="holds 2 keys"):
            load_signing_key(text, "JWT_SIGNING_KEY", "EdDSA")

    def test_refuses_a_jwk_whose_key_ops_exclude_signing(self) -> None:
        jwk = KEYS["EdDSA"].private_jwk() | {"key_ops": ["verify"]}
        with pytest.raises(InvalidSigningKey, match="key_ops"):
            load_signing_key(json.dumps(jwk), "JWT_SIGNING_KEY", "EdDSA")


def verification_key(
    algorithm: AsymmetricAlgorithm = "EdDSA", kid: str | None = None, number: int = 1
) -> AccessTokenKey:
    """A key other than KEYS[algorithm] (a retired signer's), as configured for verification."""
    jwk = signing_key(algorithm, number).private_jwk()
    if kid:
        jwk["kid"] = kid
    [key] = load_keys(json.dumps(jwk), f"verification key {kid}", algorithm)
    return key


class TestAccessTokenKeys:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_publishes_the_public_halves_signer_first(self, algorithm: AsymmetricAlgorithm) -> None:
        old = verification_key(algorithm)  # configured as a private key, as a retired signer would be
        keys = AccessTokenKeys(KEYS[algorithm], [old])
        published = keys.jwks()["keys"]
        assert [jwk["kid"] for jwk in published] == [KEYS[algorithm].kid, old.kid]
        for jwk in published:
            assert not PRIVATE_MEMBERS & set(jwk), jwk
            assert (jwk["alg"], jwk["use"]) == (algorithm, "sig")
            assert set(jwk) <= {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}

    def test_verifies_with_public_keys_only(self) -> None:
        old = verification_key()
        keys = AccessTokenKeys(KEYS["EdDSA"], [old])
        for kid in keys.kids:
            verifier = keys.verifier(kid)
            assert verifier is not None
            assert not verifier.is_private

    def test_publishes_nothing_for_hs256(self) -> None:
        assert AccessTokenKeys.symmetric(b"k" * 32).jwks() == {"keys": []}

    def test_picks_the_key_by_kid(self) -> None:
        old = verification_key(kid="old")
        keys = AccessTokenKeys(KEYS["EdDSA"], [old])
        assert keys.verifier("old") == old.public().key
        assert keys.verifier(KEYS["EdDSA"].kid) == KEYS["EdDSA"].public().key
        assert keys.verifier(None) == KEYS["EdDSA"].public().key  # tokens from before kids
        assert keys.verifier("unknown") is None
        assert keys.verifier(["old"]) is None

    def test_refuses_one_kid_for_two_keys(self) -> None:
        with pytest.raises(InvalidSigningKey, match="kid 'k1' names two different keys"):
            AccessTokenKeys(KEYS["EdDSA"], [verification_key(kid="k1"), verification_key(kid="k1", number=2)])

    def test_refuses_a_verification_key_with_the_signers_kid(self) -> None:
        with pytest.raises(InvalidSigningKey, match="names two different keys"):
            AccessTokenKeys(KEYS["EdDSA"], [verification_key(kid=KEYS["EdDSA"].kid)])

    def test_the_signer_listed_again_among_the_verification_keys_is_kept_once(self) -> None:
        # Step 2 of a rotation leaves the new signer among the verification keys: harmless.
        keys = AccessTokenKeys(KEYS["EdDSA"], [KEYS["EdDSA"].public()])
        assert keys.kids == [KEYS["EdDSA"].kid]

    def test_refuses_a_public_signer(self) -> None:
        with pytest.raises(InvalidSigningKey, match="a public key cannot sign"):
            AccessTokenKeys(KEYS["EdDSA"].public())

    def test_refuses_a_verification_key_of_another_algorithm(self) -> None:
        with pytest.raises(InvalidSigningKey, match="tokens are EdDSA"):
            AccessTokenKeys(KEYS["EdDSA"], [KEYS["ES256"]])


class TestGenerateSigningKey:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_its_jwk_and_its_pem_load_back_as_the_same_signing_key(self, algorithm: AsymmetricAlgorithm) -> None:
        generated = KEYS[algorithm]
        from_jwk = load_signing_key(json.dumps(generated.private_jwk()), "s", algorithm)
        from_pem = load_signing_key(generated.private_pem(), "s", algorithm)
        assert from_jwk.kid == from_pem.kid == generated.kid == generated.key.thumbprint()
        assert generated.private_jwk()["alg"] == algorithm

    def test_rsa_keys_are_3072_bits(self) -> None:
        native = KEYS["RS256"].key.raw_value
        assert isinstance(native, rsa.RSAPrivateKey)
        assert native.key_size == 3072

    def test_each_key_is_new(self) -> None:
        assert generate_signing_key("EdDSA").kid != generate_signing_key("EdDSA").kid
