"""Access tokens as a downstream service sees them: verified with the published JWK Set and a stock
JOSE library (PyJWT), across a key rotation; the discovery documents; the key the CLI makes."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import jwt
import pytest

from security.signing_keys import AccessTokenKey, AsymmetricAlgorithm, generate_signing_key
from tests.support.client import PASSWORD, Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only
from tests.support.settings import SIGNING_KEY

ALGORITHMS: list[AsymmetricAlgorithm] = ["EdDSA", "ES256", "RS256"]
KEYS = {algorithm: generate_signing_key(algorithm) for algorithm in ALGORITHMS}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def private_jwk(key: AccessTokenKey) -> str:
    return json.dumps(key.private_jwk())


async def fetch_jwks(gateway: Gateway) -> dict[str, Any]:
    response = await gateway.http.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    jwks: dict[str, Any] = response.json()
    return jwks


def kids(jwks: dict[str, Any]) -> list[str]:
    return [jwk["kid"] for jwk in jwks["keys"]]


def verify_downstream(token: str, jwks: dict[str, Any], issuer: str = "auth-gateway") -> dict[str, Any]:
    """What a service behind the gateway does: the key named by the token's kid, from the JWK Set alone."""
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[key.algorithm_name],
        audience="auth-gateway",
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    return claims


def assert_unauthenticated(body: dict[str, Any]) -> None:
    assert body["data"] == {"me": None}, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


class TestDownstreamVerification:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    async def test_a_stock_library_verifies_the_access_token_with_the_jwks_alone(
        self, gateway_factory: GatewayFactory, algorithm: AsymmetricAlgorithm
    ) -> None:
        gateway: Gateway = await gateway_factory(jwt_algorithm=algorithm, jwt_signing_key=private_jwk(KEYS[algorithm]))
        payload = await gateway.signed_up(f"{algorithm.lower()}@example.com")
        jwks = await fetch_jwks(gateway)

        claims = verify_downstream(payload["accessToken"], jwks)

        assert claims["sub"] == payload["user"]["id"]
        assert jwt.get_unverified_header(payload["accessToken"]) == {
            "alg": algorithm,
            "typ": "at+jwt",
            "kid": KEYS[algorithm].kid,
        }

    async def test_and_refuses_a_token_the_gateway_did_not_sign(self, gateway: Gateway) -> None:
        # The control for the test above: the verification there is real.
        payload = await gateway.signed_up("forged@example.com")
        impostor = generate_signing_key("EdDSA")
        forged = jwt.encode(
            jwt.decode(payload["accessToken"], options={"verify_signature": False}),
            impostor.private_pem(),
            algorithm="EdDSA",
            headers={"kid": jwt.get_unverified_header(payload["accessToken"])["kid"], "typ": "at+jwt"},
        )
        with pytest.raises(jwt.InvalidSignatureError):
            verify_downstream(forged, await fetch_jwks(gateway))
        assert_unauthenticated(await gateway.me(forged))

    async def test_the_development_key_is_generated_once_and_kept(
        self, gateway_factory: GatewayFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="gateway"):
            first: Gateway = await gateway_factory(jwt_signing_key=None)
        path = tmp_path / "data" / "jwt_signing_key.EdDSA.json"
        assert path.stat().st_mode & 0o777 == 0o600
        assert any("generated an EdDSA key" in record.getMessage() for record in caplog.records)
        payload = await first.signed_up("dev@example.com")
        generated = kids(await fetch_jwks(first))

        again: Gateway = await gateway_factory(jwt_signing_key=None)

        assert kids(await fetch_jwks(again)) == generated == [json.loads(path.read_text())["kid"]]
        assert (await again.me(payload["accessToken"]))["data"]["me"]["email"] == "dev@example.com"
        verify_downstream(payload["accessToken"], await fetch_jwks(again))


class TestRotation:
    async def test_tokens_of_the_old_key_live_until_it_is_dropped(
        self, gateway_factory: GatewayFactory, tmp_path: Path
    ) -> None:
        old, new = generate_signing_key("EdDSA"), generate_signing_key("EdDSA")
        before: Gateway = await gateway_factory(jwt_signing_key=private_jwk(old))
        signed_in = await before.signed_up("rotating@example.com")
        old_token = signed_in["accessToken"]

        # 1. every instance verifies with the new key, published beside the old one
        published: Gateway = await gateway_factory(
            jwt_signing_key=private_jwk(old), jwt_verification_keys=new.public_pem()
        )
        assert kids(await fetch_jwks(published)) == [old.kid, new.kid]

        # 2. the new key signs (from a file), the old one verifies (from a file)
        (tmp_path / "new.pem").write_text(new.private_pem())
        (tmp_path / "old.pub.pem").write_text(old.public_pem())
        rotated: Gateway = await gateway_factory(
            jwt_signing_key=None,
            jwt_signing_key_file=tmp_path / "new.pem",
            jwt_verification_key_files=[tmp_path / "old.pub.pem"],
        )
        jwks = await fetch_jwks(rotated)
        assert kids(jwks) == [new.kid, old.kid]
        assert (await rotated.me(old_token))["data"]["me"]["email"] == "rotating@example.com"
        new_token = (await rotated.login("rotating@example.com", PASSWORD))["accessToken"]
        assert jwt.get_unverified_header(new_token)["kid"] == new.kid
        verify_downstream(old_token, jwks)
        verify_downstream(new_token, jwks)
        # nobody was signed out: the refresh token from before the rotation still works
        refreshed = await rotated.refresh(signed_in["refreshToken"])
        assert refreshed["__typename"] == "AuthPayload", refreshed

        # 3. after the access-token lifetime, the old key goes
        after: Gateway = await gateway_factory(jwt_signing_key=private_jwk(new))
        assert kids(await fetch_jwks(after)) == [new.kid]
        assert_unauthenticated(await after.me(old_token))
        assert (await after.me(new_token))["data"]["me"]["email"] == "rotating@example.com"


@sqlite_only
class TestJwksDocument:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    async def test_holds_public_keys_only(
        self, gateway_factory: GatewayFactory, algorithm: AsymmetricAlgorithm
    ) -> None:
        retired = generate_signing_key(algorithm)  # configured as a whole private key
        gateway: Gateway = await gateway_factory(
            jwt_algorithm=algorithm,
            jwt_signing_key=private_jwk(KEYS[algorithm]),
            jwt_verification_keys=private_jwk(retired),
        )
        jwks = await fetch_jwks(gateway)
        assert kids(jwks) == [KEYS[algorithm].kid, retired.kid]
        for jwk in jwks["keys"]:
            assert not PRIVATE_MEMBERS & set(jwk), jwk
            assert (jwk["alg"], jwk["use"]) == (algorithm, "sig")

    async def test_is_cacheable_json(self, gateway: Gateway) -> None:
        response = await gateway.http.get("/.well-known/jwks.json")
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "public, max-age=300"

    async def test_is_empty_with_hs256_whose_key_is_secret(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(jwt_algorithm="HS256", jwt_signing_key=None)
        payload = await gateway.signed_up("hs256@example.com")
        assert await fetch_jwks(gateway) == {"keys": []}
        header = jwt.get_unverified_header(payload["accessToken"])
        assert (header["alg"], header["typ"]) == ("HS256", "at+jwt")
        assert header["kid"]
        assert (await gateway.me(payload["accessToken"]))["data"]["me"]["email"] == "hs256@example.com"

    async def test_both_documents_are_served_in_production(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(app_env="production")
        assert kids(await fetch_jwks(gateway)) == [SIGNING_KEY.kid]
        assert (await gateway.http.get("/.well-known/openid-configuration")).status_code == 200


@sqlite_only
class TestOpenIdConfiguration:
    async def test_names_the_issuer_and_the_jwks_from_the_request(self, gateway: Gateway) -> None:
        response = await gateway.http.get("/.well-known/openid-configuration")
        assert response.json() == {
            "issuer": "auth-gateway",
            "jwks_uri": "http://gateway.test/.well-known/jwks.json",
        }
        # built from the Host header: for this client only, not for shared caches
        assert response.headers["cache-control"] == "private, max-age=300"

    async def test_a_downstream_service_finds_the_keys_from_the_issuer(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(
            public_url="https://gateway.test/", jwt_issuer="https://gateway.test", base_url="https://gateway.test"
        )
        payload = await gateway.signed_up("discovery@example.com")

        response = await gateway.http.get("/.well-known/openid-configuration")
        document = response.json()
        assert document == {"issuer": "https://gateway.test", "jwks_uri": "https://gateway.test/.well-known/jwks.json"}
        assert response.headers["cache-control"] == "public, max-age=300"
        jwks = (await gateway.http.get(document["jwks_uri"])).json()
        assert verify_downstream(payload["accessToken"], jwks, issuer=document["issuer"])["iss"] == document["issuer"]
