"""The Strawberry ASGI view, with our context, JSON errors and the GraphiQL page's own CSP."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from strawberry.asgi import GraphQL
from strawberry.http import process_result
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types.graphql import OperationType

from domain.entities import Client
from resolvers.context import Context
from web.accept_language import negotiated_locale
from web.client_address import client_ip
from web.http import IDE_CONTENT_SECURITY_POLICY, error_response
from web.provider_callback import BrowserBindingCookie
from web.transport import RefreshTokenTransport

if TYPE_CHECKING:
    from cross_web import AsyncHTTPRequestAdapter
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send
    from starlette.websockets import WebSocket
    from strawberry.http import GraphQLRequestData
    from strawberry.http.base import BaseRequestProtocol

    from domain.services import Services
    from schema.masking import GatewaySchema
    from schema.trusted import TrustedDocuments


class GatewayGraphQL(GraphQL[Context, None]):
    schema: GatewaySchema

    """One operation per POST; no batches, uploads or subscriptions; GraphiQL and GET queries if asked."""

    def __init__(
        self,
        schema: GatewaySchema,
        services: Services,
        *,
        graphiql: bool,
        transport: RefreshTokenTransport | None = None,
        binding: BrowserBindingCookie | None = None,
        trusted: TrustedDocuments | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=graphiql,
            multipart_uploads_enabled=False,
            subscription_protocols=(),
        )
        self._services = services
        self._transport = transport or RefreshTokenTransport()
        self._binding = binding or BrowserBindingCookie()
        self._trusted = trusted
        self._ide_page = (GRAPHIQL_DIRECTORY / "index.html").read_text(encoding="utf-8") if graphiql else ""
        # The page's scripts and styles: mounted next to /graphql by the app, only with the page.
        self.ide_routes: list[BaseRoute] = [Mount("/graphiql", app=GraphiQLAssets())] if graphiql else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Strawberry answers a refused request in plain text; ours are GraphQL-shaped JSON.
        # Only HTTP comes here: the router sends no websocket to this view.
        request = Request(scope, receive)
        try:
            response = await self._run_prepared(request) or await self.run(request)
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.reason)
        await response(scope, receive, send)

    async def _run_prepared(self, request: Request) -> Response | None:
        """The answer to a plain JSON POST of a document the schema validated before; else ``None``.

        Such a request can meet none of the refusals of Strawberry's way through a request
        (method, content type, batch, missing query, operation type), so it takes the short
        one: body, context, execution (``schema.prepared``), JSON. Anything else, and the
        first time a document comes, goes Strawberry's whole way, which reads the body the
        request keeps.
        """
        if request.method != "POST" or self.schema.prepared is None:
            return None
        content_type, _ = parse_content_type(request.headers.get("content-type", ""))
        if "application/json" not in content_type or (
            self._stream_transport_map and self._get_stream_transport_from_headers(request.headers)
        ):
            return None
        data = self.decode_json(await request.body())
        if not isinstance(data, dict):
            return None
        if self._trusted is not None:
            data = self._with_trusted_document(data)
        query, variables = data.get("query"), data.get("variables")
        operation_name, extensions = data.get("operationName"), data.get("extensions")
        if not (
            isinstance(query, str)
            and isinstance(variables, dict | None)
            and isinstance(operation_name, str | None)
            and isinstance(extensions, dict | None)
            and self.schema.prepared.get(query, operation_name) is not None
        ):
            return None
        sub_response = await self.get_sub_response(request)
        result = await self.schema.execute(
            query,
            variable_values=variables,
            context_value=await self.get_context(request, sub_response),
            operation_name=operation_name,
            allowed_operation_types=_POST_OPERATIONS,
            operation_extensions=extensions,
        )
        return self.create_response(process_result(result), sub_response)

    def _with_trusted_document(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with the text of the trusted document it names as its query (schema.trusted).

        Raises:
            HTTPException: 400 for an id that names no trusted document, and under
                TRUSTED_DOCUMENTS_ONLY for a request that brings a document's text.
        """
        assert self._trusted is not None
        document_id = data.get("documentId")
        extensions = data.get("extensions")
        if document_id is None and isinstance(extensions, dict) and isinstance(extensions.get("persistedQuery"), dict):
            document_id = extensions["persistedQuery"].get("sha256Hash")  # Apollo's way of naming it
        if document_id is None:
            if self._trusted.only and data.get("query") is not None:
                raise HTTPException(400, "Only trusted documents are run here: send the document's documentId")
            return data
        if data.get("query") is not None:
            raise HTTPException(400, "Send either a query or a documentId, not both")
        query = self._trusted.text(document_id)
        if query is None:
            raise HTTPException(400, "No trusted document has this documentId")
        return {**data, "query": query}

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        # The long way (a document's first time, a GET) names trusted documents the same way.
        parsed = await super().parse_http_body(request)
        if self._trusted is None or isinstance(parsed, list):  # a batch: Strawberry refused it already
            return parsed
        raw = request.query_params if request.method == "GET" else self.decode_json(await request.get_body())
        if not isinstance(raw, Mapping):
            return parsed
        fields = {"query": parsed.query, "documentId": raw.get("documentId"), "extensions": parsed.extensions}
        return dataclasses.replace(parsed, query=self._with_trusted_document(fields)["query"])

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

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET that names a trusted document asks for its answer, not for the page.
        return super().should_render_graphql_ide(request) and "documentId" not in request.query_params

    @property
    def graphql_ide_html(self) -> str:
        return self._ide_page

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our page (web/graphiql/index.html), not Strawberry's, which loads from a CDN.
        return HTMLResponse(self._ide_page, headers={"content-security-policy": IDE_CONTENT_SECURITY_POLICY})

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        peer = request.client
        client = Client(
            ip=client_ip(peer.host if peer else None),
            user_agent=request.headers.get("user-agent"),
            locale=negotiated_locale(request.headers.get("accept-language"), self._services.mail_locales),
        )
        return Context(request, response, self._services, request_id, self._transport, client, self._binding)  # type: ignore[arg-type]  # websockets are off


_POST_OPERATIONS = OperationType.from_http("POST")

GRAPHIQL_DIRECTORY = Path(__file__).parent / "graphiql"
# Vendored files sit under their package's version (vendor/graphiql@3.8.3/…): another
# version is another URL, so a browser may keep each one for good.
_VERSIONED = re.compile(r"vendor/(@[^/@]+/)?[^/@]+@[^/]+/")
_VERSIONED_CACHE_CONTROL = "public, max-age=31536000, immutable"


class GraphiQLAssets(StaticFiles):
    """The GraphiQL page's own script and styles and its vendored packages, served at /graphiql/."""

    def __init__(self) -> None:
        super().__init__(directory=GRAPHIQL_DIRECTORY)

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path == "index.html":  # the page lives at /graphql, the endpoint its queries go to
            return error_response(404, "Not Found")
        response = await super().get_response(path, scope)
        if _VERSIONED.match(Path(path).as_posix()) and response.status_code in (200, 304):
            response.headers["cache-control"] = _VERSIONED_CACHE_CONTROL
        return response
