"""A stand-in for GitHub's OAuth app endpoints and REST API, served on loopback
(``tests.support.stand_in``).

``/login/oauth/authorize`` (a page, then a redirect with ``code`` and ``state``),
``/login/oauth/access_token`` (JSON when asked for with ``Accept: application/json``, a form
otherwise; a refused code is ``200`` with ``{"error": "bad_verification_code"}``, as GitHub
answers), and, with the access token, ``/user`` and ``/user/emails`` (``primary`` and
``verified`` per address). ``users`` maps a login to its ``id`` and ``emails``; ``down`` makes
every endpoint answer 503, as GitHub does in an outage.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.stand_in import StandInProvider, form_of, outage, redirect_to


@dataclass
class GitHubStandIn(StandInProvider):
    client_id: str = "Iv1.gateway"
    client_secret: str = ""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # login: {"id", "emails", "name"}
    tokens: dict[str, str] = field(default_factory=dict)  # access token: login
    api_down: bool = False  # only the REST API answers 503

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/login/oauth/authorize", self.authorization_page, methods=["GET"]),
                Route("/login/oauth/authorize", self._authorize, methods=["POST"]),
                Route("/login/oauth/access_token", self._access_token, methods=["POST"]),
                Route("/api/user", self._user),
                Route("/api/user/emails", self._emails),
            ]
        )

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    async def _authorize(self, request: Request) -> Response:
        query, authorization = await self.chosen(request)
        if authorization is None:
            return redirect_to(
                query["redirect_uri"],
                error="access_denied",
                error_description="The user has denied your application access.",
                state=query["state"],
            )
        return redirect_to(authorization.redirect_uri, code=self.new_code(authorization), state=query["state"])

    async def _access_token(self, request: Request) -> Response:
        if self.down:
            return outage()
        form = await form_of(request)
        # GitHub documents the client's id and secret as parameters of the form
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id != self.client_id or secret != self.client_secret:
            answer = {
                "error": "incorrect_client_credentials",
                "error_description": "The client_id and/or client_secret passed are incorrect.",
            }
        elif (authorization := self.redeemed(form, client_id)) is None:
            answer = {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}
        else:
            token = f"gho_{secrets.token_urlsafe(27)}"
            self.tokens[token] = authorization.user
            answer = {"access_token": token, "token_type": "bearer", "scope": authorization.scope.replace(" ", ",")}
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(answer)
        return Response(urlencode(answer), media_type="application/x-www-form-urlencoded")

    def _login(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return self.tokens.get(token) if scheme.lower() in ("bearer", "token") else None

    async def _user(self, request: Request) -> Response:
        if self.down or self.api_down:
            return outage()
        login = self._login(request)
        if login is None:
            return JSONResponse({"message": "Bad credentials", "status": "401"}, status_code=401)
        user = self.users[login]
        return JSONResponse(
            {
                "login": login,
                "id": user["id"],
                "node_id": "MDQ6VXNlcjE=",
                "type": "User",
                "name": user.get("name"),
                "email": next((e["email"] for e in user["emails"] if e.get("primary")), None),
            }
        )

    async def _emails(self, request: Request) -> Response:
        if self.down or self.api_down:
            return outage()
        login = self._login(request)
        if login is None:
            return JSONResponse({"message": "Bad credentials", "status": "401"}, status_code=401)
        return JSONResponse(
            [{"visibility": "private" if e.get("primary") else None, **e} for e in self.users[login]["emails"]]
        )
