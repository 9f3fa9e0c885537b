"""Masking: everything unexpected reaches the client as its request id only, and no hints in production."""

from __future__ import annotations

import copy
import logging
import re
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES

from schema.prepared import execute_prepared

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from graphql import ASTValidationRule, DocumentNode
    from strawberry.extensions import SchemaExtension
    from strawberry.types import ExecutionContext, ExecutionResult
    from strawberry.types.graphql import OperationType

    from schema.prepared import PreparedOperations
    from schema.validation import DocumentValidator

logger = logging.getLogger("gateway.graphql")

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


def is_unexpected(error: GraphQLError) -> bool:
    """Something raised what is not a GraphQLError: a bug, or an outage."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


def _request_id(context: object) -> str | None:
    return getattr(context, "request_id", None)


def masked(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """What the client sees of an unexpected error: no text of its own, only the request id."""
    extensions: dict[str, Any] = {"code": INTERNAL_SERVER_ERROR}
    if request_id:
        extensions["requestId"] = request_id
    return GraphQLError(
        message=f"Unexpected error (request id {request_id})" if request_id else "Unexpected error",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


# graphql-core words every hint with pyutils.did_you_mean: " Did you mean 'a' or 'b'?";
# names never contain a question mark.
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def without_suggestions(error: GraphQLError) -> GraphQLError:
    """Drops the "Did you mean …?" hints, which spell the schema out to whoever probes it.

    Strawberry's ``disable_field_suggestions`` covers unknown fields only; unknown
    arguments, types, input fields and enum values, in the document or in the
    variables, carry hints too.
    """
    error.message = _SUGGESTION.sub("", error.message)
    return error


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema with the last word on every error a client sees.

    Unexpected errors are masked here rather than by Strawberry's ``MaskErrors``
    extension: an exception raised while validating a document (in a validation
    rule) reaches the result after the extensions have finished, unmasked.
    """

    def __init__(
        self,
        *args: Any,
        hide_suggestions: bool = False,
        prepared: PreparedOperations | None = None,
        validator: DocumentValidator | None = None,
        validation_rules: tuple[type[ASTValidationRule], ...] = (),
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.hide_suggestions = hide_suggestions
        self.max_tokens = max_tokens
        self._validator = validator
        self._validation_rules = validation_rules
        # Documents validated before, executed without Strawberry's extensions (schema.prepared).
        # Schema directives would need Strawberry's DirectivesExtension: the gateway has none.
        self.prepared = prepared if not self.directives else None

    def with_document_caches(
        self,
        extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]],
        validator: DocumentValidator,
        prepared: PreparedOperations,
    ) -> GatewaySchema:
        """This schema's converted types, with ``extensions`` that keep documents in ``validator``
        and ``prepared``, caches of the copy's own.

        Only the caches and the extensions bound to them differ: the GraphQL schema underneath
        is shared, and still names this schema as its Strawberry one (``info.schema``).
        """
        twin = copy.copy(self)
        twin.extensions = tuple(extensions)
        twin._validator = validator
        twin.prepared = prepared if not self.directives else None
        return twin

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        prepared = None
        # Whatever a client sent as the operation name reaches here (a list, say): only a name is looked up.
        if self.prepared is not None and query and isinstance(operation_name, str | None):
            prepared = self.prepared.get(query, operation_name)
        allowed = DEFAULT_ALLOWED_OPERATION_TYPES if allowed_operation_types is None else allowed_operation_types
        if prepared is not None and prepared.operation_type in allowed:
            result = await execute_prepared(
                self,
                prepared,
                variable_values=variable_values,
                context_value=context_value,
                root_value=root_value,
                operation_name=operation_name,
                operation_extensions=operation_extensions,
            )
        else:
            result = await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        if result.errors:
            request_id = _request_id(context_value)
            errors = [masked(error, request_id) if is_unexpected(error) else error for error in result.errors]
            result.errors = [without_suggestions(error) for error in errors] if self.hide_suggestions else errors
        return result

    def validate_document(self, document: DocumentNode) -> list[GraphQLError]:
        """What validating ``document`` for a request answers: the same validator, with the same rules."""
        assert self._validator is not None, "built without a validator"
        return self._validator.validate(self._schema, document, self._validation_rules)

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
                    _request_id(execution_context.context if execution_context else None),
                    exc_info=error.original_error,
                )
