"""The Strawberry ASGI view, with our context."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from strawberry.asgi import GraphQL

from schema.context import Context

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.websockets import WebSocket

    from schema.context import Services
    from schema.errors import GatewaySchema


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: GatewaySchema, services: Services, *, graphiql: bool) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=graphiql,
            multipart_uploads_enabled=False,
            subscription_protocols=(),
        )
        self._services = services

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        return Context(request, response, self._services, request_id)  # type: ignore[arg-type]  # websockets are off
