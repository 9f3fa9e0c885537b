"""What a GraphQL request did, for its log line and the metrics: which root fields ran and what each answered.

The request log (``web.request_log``) puts an empty ``OperationRecord`` in the
request's ASGI scope; ``RecordOperations``, a schema extension, fills it in.
Everything recorded is named by the schema (field and type names) or is the
operation's name as parsed from the document: never a variable, so never a
password, a code or a token.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types.base import get_object_definition

from resolvers.unauthenticated import UNAUTHENTICATED

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence

    from graphql import DocumentNode, GraphQLResolveInfo

SCOPE_KEY = "graphql_operation"
MAX_OPERATION_NAME = 64

# Outcomes that are no result type of the schema
INVALID = "invalid"  # the document was refused before anything ran (syntax, validation, limits)
ERROR = "error"  # the field raised: masked as INTERNAL_SERVER_ERROR, or another top-level error
NULL = "null"  # e.g. `me` without a token
LIST = "list"  # e.g. `sessions`
VALUE = "value"  # a scalar, e.g. `__typename`


@dataclass
class OperationRecord:
    """The root fields of one GraphQL request, in the order they ran, with each one's outcome."""

    operation_name: str | None = None
    refused: bool = False
    fields: list[tuple[str, str]] = field(default_factory=list)

    def add(self, field_name: str, outcome: str) -> None:
        self.fields.append((field_name, outcome))

    @property
    def operation(self) -> str | None:
        """The root fields that ran (``login``, ``me,sessions``); ``None`` if none did."""
        return ",".join(name for name, _ in self.fields) or None

    @property
    def outcome(self) -> str | None:
        """Each root field's outcome (``AuthPayload``, ``InvalidCredentials,RateLimited``), or ``invalid``."""
        if self.fields:
            return ",".join(outcome for _, outcome in self.fields)
        return INVALID if self.refused else None


def start_record(scope: MutableMapping[str, Any]) -> OperationRecord:
    """Put an empty record in the request's scope, for ``RecordOperations`` to fill in."""
    record = OperationRecord()
    scope.setdefault("state", {})[SCOPE_KEY] = record
    return record


def record_of(context: object) -> OperationRecord | None:
    request = getattr(context, "request", None)
    state = getattr(request, "scope", {}).get("state", {})
    record = state.get(SCOPE_KEY)
    return record if isinstance(record, OperationRecord) else None


def note_operation(
    record: OperationRecord,
    document: DocumentNode | None,
    operation_name: str | None,
    errors: Sequence[GraphQLError] | None,
) -> None:
    """Once the operation ended: its name as the document gives it, and whether it was refused before it ran."""
    if document is not None:
        operation = get_operation_ast(document, operation_name)
        if operation is not None and operation.name is not None:
            record.operation_name = operation.name.value[:MAX_OPERATION_NAME]
    record.refused = bool(errors) and not record.fields


def outcome_of(value: object) -> str:
    """A root field's result as a word: its GraphQL type's name (``AuthPayload``), ``null``, ``list`` or ``value``."""
    if value is None:
        return NULL
    if isinstance(value, list | tuple):
        return LIST
    if isinstance(value, str | int | float):  # `__typename`
        return VALUE
    definition = get_object_definition(value)
    return definition.name if definition is not None else type(value).__name__


def error_outcome(error: BaseException) -> str:
    """``UNAUTHENTICATED`` for "not signed in", which SPAs expect daily; ``error`` for anything else."""
    extensions = getattr(error, "extensions", None) or {}
    if isinstance(error, GraphQLError) and extensions.get("code") == UNAUTHENTICATED:
        return UNAUTHENTICATED
    return ERROR


class RecordOperations(SchemaExtension):
    """Notes each root field's name and outcome in the request's ``OperationRecord``, if it has one."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        record = record_of(context.context)
        if record is not None:
            note_operation(record, context.graphql_document, context.operation_name, context.pre_execution_errors)

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any], *args: Any, **kwargs: Any
    ) -> Any:
        if info.path.prev is not None:  # not a root field
            return _next(root, info, *args, **kwargs)
        record = record_of(info.context)
        if record is None:
            return _next(root, info, *args, **kwargs)
        try:
            result = _next(root, info, *args, **kwargs)
        except Exception as exc:
            record.add(info.field_name, error_outcome(exc))
            raise
        if inspect.isawaitable(result):
            return _recorded(result, record, info.field_name)
        record.add(info.field_name, outcome_of(result))
        return result


async def _recorded(result: Awaitable[Any], record: OperationRecord, field_name: str) -> Any:
    try:
        value = await result
    except Exception as exc:
        record.add(field_name, error_outcome(exc))
        raise
    record.add(field_name, outcome_of(value))
    return value
