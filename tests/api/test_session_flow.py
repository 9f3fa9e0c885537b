"""The whole spine over HTTP: register -> verifyOtp -> me -> refreshToken -> login."""

from __future__ import annotations

from tests.support.client import PASSWORD, Gateway


class TestFullSession:
    async def test_sign_up_verify_me_refresh_login(self, gateway: Gateway) -> None:
        sent = await gateway.register(" Ann.Lee@Example.COM ", PASSWORD, firstName="Ann")
        assert sent["__typename"] == "OtpSent"
        assert sent["email"] == "Ann.Lee@example.com"

        payload = await gateway.verify("ann.lee@example.com", await gateway.last_code("Ann.Lee@example.com"))
        assert payload["__typename"] == "AuthPayload"
        assert payload["tokenType"] == "Bearer"
        assert payload["expiresIn"] == 900
        assert payload["user"]["emailVerified"] is True

        me = await gateway.me(payload["accessToken"])
        assert me["data"]["me"]["email"] == "Ann.Lee@example.com"
        assert me["data"]["me"]["firstName"] == "Ann"

        rotated = await gateway.refresh(payload["refreshToken"])
        assert rotated["__typename"] == "AuthPayload"
        assert rotated["refreshToken"] != payload["refreshToken"]
        assert (await gateway.me(rotated["accessToken"]))["data"]["me"]["id"] == payload["user"]["id"]

        signed_in = await gateway.login("ANN.LEE@example.com", PASSWORD)
        assert signed_in["__typename"] == "AuthPayload"
        assert signed_in["user"]["id"] == payload["user"]["id"]
