"""The Strawberry ASGI view, with our context, JSON errors and the GraphiQL page's own CSP."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from cross_web import HTTPException
from starlette.requests import Request
from strawberry.asgi import GraphQL

from schema.context import Context
from schema.http import error_response, ide_content_security_policy

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send
    from starlette.websockets import WebSocket

    from schema.context import Services
    from schema.errors import GatewaySchema


class GatewayGraphQL(GraphQL[Context, None]):
    """One operation per POST; no batches, uploads or subscriptions; GraphiQL and GET queries if asked."""

    def __init__(self, schema: GatewaySchema, services: Services, *, graphiql: bool) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=graphiql,
            multipart_uploads_enabled=False,
            subscription_protocols=(),
        )
        self._services = services
        self._ide_policy = ide_content_security_policy(self.graphql_ide_html) if graphiql else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Strawberry answers a refused request in plain text; ours are GraphQL-shaped JSON.
        # Only HTTP comes here: the router sends no websocket to this view.
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.reason)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry turns only JSONDecodeError into a 400: bad UTF-8, nesting past the
        # recursion limit and bodies that are not objects would all become 500s.
        try:
            decoded = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "Expected a JSON object")
        return decoded

    async def render_graphql_ide(self, request: Request) -> Response:
        response = await super().render_graphql_ide(request)
        if self._ide_policy:
            response.headers["content-security-policy"] = self._ide_policy
        return response

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        return Context(request, response, self._services, request_id)  # type: ignore[arg-type]  # websockets are off
