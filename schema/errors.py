"""Top-level GraphQL errors: "not signed in", and masking of everything unexpected."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

if TYPE_CHECKING:
    from collections.abc import Iterator

    from strawberry.types import ExecutionContext

logger = logging.getLogger("gateway.graphql")

UNAUTHENTICATED = "UNAUTHENTICATED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


def unauthenticated() -> GraphQLError:
    """The one failure that travels as a top-level error: SPAs refresh on its code."""
    return GraphQLError(
        "Your access token is not valid; refresh it or sign in again.",
        extensions={"code": UNAUTHENTICATED},
    )


def is_unexpected(error: GraphQLError) -> bool:
    """A resolver raised something that is not a GraphQLError: a bug, or an outage."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


def _request_id(execution_context: ExecutionContext | None) -> str | None:
    context: Any = execution_context.context if execution_context else None
    return getattr(context, "request_id", None)


class MaskUnexpectedErrors(MaskErrors):
    """Replaces unexpected errors with "Unexpected error" and the request id.

    Validation errors and our own errors keep their message.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Unexpected error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        extensions: dict[str, Any] = {"code": INTERNAL_SERVER_ERROR}
        request_id = _request_id(self.execution_context)
        if request_id:
            extensions["requestId"] = request_id
        return GraphQLError(
            message=f"Unexpected error (request id {request_id})" if request_id else self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )


# graphql-core words every hint with pyutils.did_you_mean: " Did you mean 'a' or 'b'?";
# names and quoted values never contain a question mark.
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


class HideSuggestions(SchemaExtension):
    """Drops graphql-core's "Did you mean …?" hints, which spell the schema out to whoever probes it.

    Strawberry's ``disable_field_suggestions`` covers unknown fields only; unknown
    arguments, types, input fields and enum values, in the document or in the
    variables, carry hints too.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors if result else None) or ():
            error.message = _SUGGESTION.sub("", error.message)


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log unexpected errors in full, with the request id the client is shown.

        Expected errors (bad queries, expired tokens) are the client's business and
        are not logged as errors.
        """
        for error in errors:
            if is_unexpected(error):
                logger.error(
                    "unexpected error in %s (request id %s)",
                    ".".join(str(p) for p in error.path or []) or "operation",
                    _request_id(execution_context),
                    exc_info=error.original_error,
                )
