"""Documents seen before and found valid: executed straight through graphql-core.

An SPA sends the same few documents again and again (``me``, ``refreshToken``). The
first time a document comes, it takes Strawberry's whole way: parsing under the token
limit, the operation type check, validation against every rule (``schema.validation``),
and the extensions around each step. When it passes, ``ValidatedDocuments`` remembers
it here, keyed by its exact text and the operation name asked for. From then on that
same request runs only what depends on the request: graphql-core's execution with the
variables and the context, the operation record (``schema.operations``), error logging
and masking (``schema.masking``). Parsing and validation are pure functions of the text,
the schema and the rules, so the answer is the one the long way would give.

A document that failed any step is never remembered, and takes the long way each time
it comes. The entries are bounded (least recently used out first).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, execute
from graphql.execution.middleware import MiddlewareManager
from strawberry.execution import optimized_is_awaitable
from strawberry.types import ExecutionResult
from strawberry.types.execution import ExecutionContext
from strawberry.utils.await_maybe import await_maybe

from schema.operations import RecordOperations, note_operation, record_of

if TYPE_CHECKING:
    from graphql import DocumentNode
    from strawberry import Schema
    from strawberry.types.graphql import OperationType


@dataclass(frozen=True)
class PreparedOperation:
    """A parsed, valid document and the operation in it that a request asks for."""

    document: DocumentNode
    operation_type: OperationType


class PreparedOperations:
    """The last ``maxsize`` valid (document text, operation name) pairs, ready to execute."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[tuple[str, str | None], PreparedOperation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str, operation_name: str | None) -> PreparedOperation | None:
        key = (query, operation_name)
        prepared = self._entries.get(key)
        if prepared is not None:
            self._entries.move_to_end(key)
        return prepared

    def remember(self, query: str, operation_name: str | None, prepared: PreparedOperation) -> None:
        """Called once ``query`` parsed and validated without an error."""
        self._entries[(query, operation_name)] = prepared
        self._entries.move_to_end((query, operation_name))
        while len(self._entries) > self._maxsize:
            self._entries.popitem(last=False)


# The per-field half of ``RecordOperations``, shared by every request: it keeps nothing
# of its own between calls (the record it fills is the request's).
_MIDDLEWARE = MiddlewareManager(RecordOperations())


async def execute_prepared(
    schema: Schema,
    prepared: PreparedOperation,
    *,
    variable_values: dict[str, Any] | None,
    context_value: Any,
    root_value: Any,
    operation_name: str | None,
    operation_extensions: dict[str, Any] | None,
) -> ExecutionResult:
    """What ``Schema.execute`` answers for a document it validated before, without its extensions."""
    try:
        result = await await_maybe(
            execute(
                schema._schema,
                prepared.document,
                root_value=root_value,
                context_value=context_value,
                variable_values=variable_values,
                operation_name=operation_name,
                middleware=_MIDDLEWARE,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a TypeGuard in all but name
                executor_class=schema.execution_context_class,
                operation_extensions=operation_extensions,
            )
        )
        errors = result.errors
        answer = ExecutionResult(data=result.data, errors=errors)
    except Exception as exc:  # as Strawberry does: the client gets an error, the log its cause
        errors = [exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)]
        answer = ExecutionResult(data=None, errors=errors)
    if errors:
        schema.process_errors(errors, _context_for_errors(schema, context_value, operation_name))
    record = record_of(context_value)
    if record is not None:
        note_operation(record, prepared.document, operation_name, errors)
    return answer


def _context_for_errors(schema: Schema, context_value: Any, operation_name: str | None) -> ExecutionContext:
    """What ``Schema.process_errors`` is handed about the request, as Strawberry would hand it."""
    return ExecutionContext(
        query=None,
        schema=schema,
        allowed_operations=(),
        context=context_value,
        provided_operation_name=operation_name,
    )
