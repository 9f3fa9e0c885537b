"""uvicorn's own 400, with the headers and the JSON shape of every other answer.

A request uvicorn cannot parse (a malformed request line or header, a Content-Length
that is not a number) never reaches the app: uvicorn writes a plain-text 400 itself
(``send_400_response`` of its HTTP protocol) and closes the connection, so no
middleware can add a header to it. ``python server.py`` hands uvicorn this subclass
of the protocol its ``http="auto"`` picks (httptools, a dependency of the gateway),
whose 400 carries ``security_headers`` and a GraphQL-shaped JSON error.

``send_400_response`` is uvicorn's, not a documented hook; ``uvicorn`` is pinned, and
``tests/processes/test_malformed_http.py`` sends malformed requests to a real process.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from web.http import security_headers


def gateway_http_protocol(*, hsts: bool) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, answering a request it cannot parse as the gateway would."""
    headers = b"".join(
        name.encode("latin-1") + b": " + value.encode("latin-1") + b"\r\n"
        for name, value in security_headers(hsts=hsts).items()
    )

    class GatewayHttpProtocol(HttpToolsProtocol):
        def send_400_response(self, msg: str) -> None:
            body = json.dumps({"errors": [{"message": msg, "extensions": {"code": "BAD_REQUEST"}}]}).encode()
            content = [b"HTTP/1.1 400 Bad Request\r\n"]
            content.extend(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
            content.extend(
                [
                    headers,
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
            self.transport.write(b"".join(content))
            self.transport.close()

    return GatewayHttpProtocol
