from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from joserfc import jwt

from persistence.models import UserRow
from security.signing_keys import jws_registry
from tests.support.client import Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.settings import SIGNING_KEY

EDDSA = jws_registry("EdDSA")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(payload: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Claims for the account and session of ``payload`` (an AuthPayload), as the gateway would sign them."""
    now = int(time.time())
    issued = jwt.decode(payload["accessToken"], SIGNING_KEY.key, registry=EDDSA).claims
    claims = {
        "iss": "auth-gateway",
        "aud": "auth-gateway",
        "sub": issued["sub"],
        "sid": issued["sid"],
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return claims


def _sign(claims: dict[str, Any], typ: str = "at+jwt") -> str:
    header = {"alg": "EdDSA", "typ": typ, "kid": SIGNING_KEY.kid}
    return jwt.encode(header, claims, SIGNING_KEY.key, registry=EDDSA)


def _sign_hs256_with_the_public_key(claims: dict[str, Any]) -> str:
    """The algorithm-confusion forgery: HMAC keyed with the published public key."""
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'at+jwt', 'kid': SIGNING_KEY.kid})}.{_b64(claims)}"
    public_pem = SIGNING_KEY.public_pem().encode()
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _assert_unauthenticated(body: Any) -> None:
    assert body["data"] == {"me": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


class TestMe:
    async def test_without_a_token_is_null_and_no_error(self, gateway: Gateway) -> None:
        assert await gateway.me(None) == {"data": {"me": None}}

    async def test_returns_the_signed_in_user(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("me@example.com")
        body = await gateway.me(payload["accessToken"])
        assert body["data"]["me"]["id"] == payload["user"]["id"]
        assert body["data"]["me"]["emailVerified"] is True

    async def test_token_issued_by_the_gateway_has_the_documented_shape(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("shape@example.com")
        decoded = jwt.decode(payload["accessToken"], SIGNING_KEY.key, registry=EDDSA)
        assert decoded.header == {"alg": "EdDSA", "typ": "at+jwt", "kid": SIGNING_KEY.kid}
        assert set(decoded.claims) >= {"iss", "aud", "sub", "iat", "exp", "jti", "sid"}
        assert decoded.claims["exp"] - decoded.claims["iat"] == 900
        assert decoded.claims["sub"] == payload["user"]["id"]

    async def test_a_self_signed_token_in_the_right_shape_is_accepted(self, gateway: Gateway) -> None:
        # guards the tests below: they fail for the one reason each names
        payload = await gateway.signed_up("forge-base@example.com")
        body = await gateway.me(_sign(_claims(payload)))
        assert body["data"]["me"]["email"] == "forge-base@example.com"

    async def test_bad_tokens_are_unauthenticated(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("bad@example.com")
        now = int(time.time())
        unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(_claims(payload))}."
        bad_tokens = {
            "garbage": "not-a-jwt",
            "tampered": payload["accessToken"][:-3] + ("AAA" if not payload["accessToken"].endswith("AAA") else "BBB"),
            "alg none": unsigned,
            "HS256 keyed with the public key": _sign_hs256_with_the_public_key(_claims(payload)),
            "foreign issuer": _sign(_claims(payload, iss="someone-else")),
            "foreign audience": _sign(_claims(payload, aud="another-api")),
            "expired": _sign(_claims(payload, iat=now - 1000, exp=now - 10)),
            "wrong type": _sign(_claims(payload), typ="JWT"),
            "refresh token": payload["refreshToken"],
            "another session": _sign(_claims(payload, sid=str(uuid.uuid4()))),
            "another account": _sign(_claims(payload, sub=str(uuid.uuid4()))),
        }
        for name, token in bad_tokens.items():
            body = await gateway.me(token)
            assert body["data"] == {"me": None}, name
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], name

    async def test_non_bearer_authorization_is_unauthenticated(self, gateway: Gateway) -> None:
        response = await gateway.http.post(
            "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": "Basic dXNlcjpwYXNz"}
        )
        _assert_unauthenticated(response.json())

    async def test_user_that_no_longer_exists_is_unauthenticated(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("gone@example.com")
        await UserRow.filter(id=payload["user"]["id"]).delete()
        _assert_unauthenticated(await gateway.me(payload["accessToken"]))


class TestExpiredAccessToken:
    async def test_gateway_token_stops_working_after_its_lifetime(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        payload = await gateway.signed_up("short@example.com")
        # iat and exp are whole seconds (iat rounded down): keep a few seconds of slack each side
        clock.advance(seconds=895)
        assert (await gateway.me(payload["accessToken"]))["data"]["me"] is not None
        clock.advance(seconds=10)
        _assert_unauthenticated(await gateway.me(payload["accessToken"]))


class TestTokenIsReadOnlyWhenNeeded:
    async def test_operations_that_need_no_identity_ignore_a_stale_header(self, gateway: Gateway) -> None:
        # an SPA that still sends an expired token can sign in again without clearing it first
        body = await gateway.post(
            'mutation { login(input: {email: "nobody@example.com", password: "whatever 123"}) { __typename } }',
            token="expired-or-garbage",
        )
        assert body == {"data": {"login": {"__typename": "InvalidCredentials"}}}


class TestSeveralSignedInFieldsInOneDocument:
    """Graphql-core resolves a document's fields concurrently: each must see the same caller."""

    async def test_me_beside_sessions(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("both@example.com")
        body = await gateway.post("{ me { id } sessions { id current } }", token=payload["accessToken"])
        assert "errors" not in body, body
        assert body["data"]["me"]["id"] == payload["user"]["id"]
        assert [session["current"] for session in body["data"]["sessions"]] == [True]

    async def test_two_aliases_of_me(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("twice@example.com")
        body = await gateway.post("{ a: me { id } b: me { id } }", token=payload["accessToken"])
        assert body == {"data": {"a": {"id": payload["user"]["id"]}, "b": {"id": payload["user"]["id"]}}}

    async def test_an_ended_session_is_unauthenticated_for_every_field(self, gateway: Gateway) -> None:
        payload = await gateway.signed_up("ended@example.com")
        await gateway.logout(payload["accessToken"])
        body = await gateway.post("{ a: me { id } b: me { id } sessions { id } }", token=payload["accessToken"])
        assert body["data"] is None, body  # sessions is non-null: its error nulls the whole answer
        assert sorted((error["path"], error["extensions"]["code"]) for error in body["errors"]) == [
            (["a"], "UNAUTHENTICATED"),
            (["b"], "UNAUTHENTICATED"),
            (["sessions"], "UNAUTHENTICATED"),
        ]

    async def test_the_session_is_checked_once_per_request(
        self, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        payload = await gateway.signed_up("once@example.com")
        identity = gateway.app.state.services.identity
        checked: list[str] = []
        authenticate = identity.authenticate

        async def counted(claims: Any) -> Any:
            checked.append(str(claims.session_id))
            return await authenticate(claims)

        monkeypatch.setattr(identity, "authenticate", counted)
        body = await gateway.post("{ a: me { id } b: me { id } sessions { id } }", token=payload["accessToken"])
        assert "errors" not in body, body
        assert len(checked) == 1
