"""Validating a document: the gateway's limits first and alone, then GraphQL's rules, a few errors at most.

graphql-core runs every rule over the document in one pass and reports every error
it finds, up to 100. An error list is an amplifier: ``{ __typename @aa@aa@aa… }``
answers one error per unknown directive (graphql-cop reports it as "Directive
Overloading"), and a document over the limits would still be compared field by
field by the costliest rules. So a document is checked in two steps:

1. the limits (``schema.limits``) alone: a document over them is refused with their
   one error, and no other rule looks at it;
2. then GraphQL's rules, stopped at the fourth error: the first three are shown,
   with a last one saying that more were left out.

Each distinct document is validated once per process (an LRU cache, as Strawberry's
``ValidationCache``): validation is a pure function of the schema, the document and
the rules, and the parser cache hands the same document object back for the same text.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from graphql import GraphQLError, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.prepared import PreparedOperation

if TYPE_CHECKING:
    from collections.abc import Iterator

    from graphql import ASTValidationRule, DocumentNode, GraphQLSchema

    from schema.prepared import PreparedOperations

MAX_VALIDATION_ERRORS = 3
MORE_ERRORS_LEFT_OUT = f"More errors were left out: the first {MAX_VALIDATION_ERRORS} are shown."
# What graphql-core says when it stops at max_errors (a ValidationAbortedError).
_GRAPHQL_CORE_TOO_MANY = "Too many validation errors, error limit reached. Validation aborted."
# Strawberry adds these to every validation (strawberry.schema.schema.validate_document).
_STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (MaybeNullValidationRule, OneOfInputValidationRule)


class DocumentValidator:
    """Validates documents for one schema, keeping the outcome of the last ``maxsize`` distinct ones."""

    def __init__(self, refusal: type[ASTValidationRule] | None, *, maxsize: int) -> None:
        """``refusal``: the rule that refuses a whole document (the limits), checked before any other."""
        self._refusal = refusal
        self.validate = functools.lru_cache(maxsize=maxsize)(self._validate)

    def _validate(
        self, schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
    ) -> list[GraphQLError]:
        if self._refusal is not None:
            refused = validate(schema, document, [self._refusal])
            if refused:
                return refused[:1]
        errors = validate(schema, document, (*rules, *_STRAWBERRY_RULES), max_errors=MAX_VALIDATION_ERRORS)
        return [GraphQLError(MORE_ERRORS_LEFT_OUT) if e.message == _GRAPHQL_CORE_TOO_MANY else e for e in errors]


class ValidatedDocuments(SchemaExtension):
    """Strawberry's validation step, done by a ``DocumentValidator`` (in place of ``ValidationCache``).

    The rules of other extensions (``DisableIntrospection``) are added to the execution
    context before this step runs, and are checked with GraphQL's own.
    """

    def __init__(self, validator: DocumentValidator, prepared: PreparedOperations | None = None) -> None:
        super().__init__()
        self._validator = validator
        self._prepared = prepared

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None  # parsed before validation
        context.pre_execution_errors = self._validator.validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        if not context.pre_execution_errors and self._prepared is not None and context.query:
            # The operation type was found before validation, or the request ended there.
            prepared = PreparedOperation(context.graphql_document, context.operation_type)
            self._prepared.remember(context.query, context._provided_operation_name, prepared)
        yield
