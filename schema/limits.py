"""What one GraphQL document may ask for: its depth, aliases, directives and sensitive fields.

Everything is counted with fragments expanded (a fragment spread twice counts twice),
yet each fragment is walked only once. Strawberry's ``QueryDepthLimiter`` and
``MaxAliasesLimiter`` walk a fragment again at every spread, so a chain of fragments
that each spread the next one twice costs 2**n steps (twenty links take seconds,
thirty over an hour); the depth limiter also skips introspection fields, the one
place where our schema is cyclic. Tokens are left to Strawberry's ``MaxTokensLimiter``,
which stops the parser itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    SKIP,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationRule,
    get_named_type,
)
from strawberry.extensions import MaxTokensLimiter
from strawberry.schema.schema_converter import GraphQLCoreConverter

from resolvers.sensitivity import SENSITIVITY

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql import (
        DocumentNode,
        GraphQLNamedType,
        GraphQLSchema,
        SelectionNode,
        SelectionSetNode,
        VisitorAction,
    )
    from strawberry.extensions import SchemaExtension


@dataclass(frozen=True)
class GraphQLLimits:
    """The most one document may ask for; ``{ me { id } }`` is 2 deep, 0 aliases, 0 directives."""

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_directives: int

    def extensions(self) -> list[Callable[[], SchemaExtension]]:
        """The token limit, which stops the parser; the rest is ``rule``'s, run by ``schema.validation``."""
        return [functools.partial(MaxTokensLimiter, max_token_count=self.max_tokens)]

    def rule(self) -> type[ValidationRule]:
        return document_limits_rule(self)


def sensitive_fields(schema: GraphQLSchema) -> list[str]:
    """The Mutation fields declared with ``metadata=SENSITIVE``, in schema order."""
    return [name for name, marked in _sensitivity(schema).items() if marked]


def undeclared_mutations(schema: GraphQLSchema) -> list[str]:
    """Mutation fields declared neither SENSITIVE nor NOT_SENSITIVE: each must say which it is."""
    return [name for name, marked in _sensitivity(schema).items() if marked is None]


def _sensitivity(schema: GraphQLSchema) -> dict[str, bool | None]:
    mutation = schema.mutation_type
    if mutation is None:
        return {}
    marks: dict[str, bool | None] = {}
    for name, field in mutation.fields.items():
        definition: Any = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        metadata = getattr(definition, "metadata", None) or {}
        marks[name] = metadata.get(SENSITIVITY)
    return marks


@dataclass(frozen=True)
class _Tally:
    depth: int = 0
    aliases: int = 0
    directives: int = 0
    sensitive: int = 0

    def beside(self, other: _Tally) -> _Tally:
        """Selections side by side: the deeper one counts, everything else adds up."""
        return _Tally(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.directives + other.directives,
            self.sensitive + other.sensitive,
        )

    def above(self, other: _Tally) -> _Tally:
        """A field above its own selections: one level deeper."""
        return _Tally(
            self.depth + other.depth,
            self.aliases + other.aliases,
            self.directives + other.directives,
            self.sensitive + other.sensitive,
        )


_NOTHING = _Tally()


class _Walker:
    """Tallies selections with fragments expanded; each fragment is walked once."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.sensitive = sensitive_fields(schema)
        self.tallied: dict[str, _Tally] = {}
        self.walking: set[str] = set()

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> _Tally:
        tally = _NOTHING
        for selection in selection_set.selections:
            tally = tally.beside(self.selection(selection, parent))
        return tally

    def selection(self, node: SelectionNode, parent: GraphQLNamedType | None) -> _Tally:
        directives = len(node.directives or ())
        if isinstance(node, FieldNode):
            name = node.name.value
            own = _Tally(
                depth=1,
                aliases=1 if node.alias else 0,
                directives=directives,
                sensitive=1 if parent is self.schema.mutation_type and name in self.sensitive else 0,
            )
            if node.selection_set is None:
                return own
            return own.above(self.selections(node.selection_set, self._field_type(parent, name)))
        if isinstance(node, InlineFragmentNode):
            condition = node.type_condition
            type_ = self.schema.get_type(condition.name.value) if condition else parent
            return _Tally(directives=directives).beside(self.selections(node.selection_set, type_))
        if isinstance(node, FragmentSpreadNode):
            return _Tally(directives=directives).beside(self.fragment(node.name.value))
        return _NOTHING  # pragma: no cover - the three kinds above are all there are

    def fragment(self, name: str) -> _Tally:
        if name in self.tallied:
            return self.tallied[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.walking:
            return _NOTHING  # unknown or cyclic: other rules report it
        self.walking.add(name)
        type_ = self.schema.get_type(definition.type_condition.name.value)
        tally = _Tally(directives=len(definition.directives or ())).beside(
            self.selections(definition.selection_set, type_)
        )
        self.walking.discard(name)
        self.tallied[name] = tally
        return tally

    @staticmethod
    def _field_type(parent: GraphQLNamedType | None, name: str) -> GraphQLNamedType | None:
        fields = getattr(parent, "fields", None)
        field = fields.get(name) if fields else None
        return get_named_type(field.type) if field else None


def document_limits_rule(limits: GraphQLLimits) -> type[ValidationRule]:
    """A validation rule that refuses documents over ``limits`` or with two sensitive fields, with one error."""

    class DocumentLimitsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: object) -> VisitorAction:
            # Counted here, not in __init__: graphql-core turns a RecursionError raised
            # while visiting into "Validation aborted." rather than a crash.
            schema = self.context.schema
            walker = _Walker(schema, node)
            tally = _NOTHING
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    root = schema.get_root_type(definition.operation)
                    variables = definition.variable_definitions or ()
                    directives = len(definition.directives or ()) + sum(len(v.directives or ()) for v in variables)
                    operation = _Tally(directives=directives)
                    tally = tally.beside(operation.beside(walker.selections(definition.selection_set, root)))
            self._check(tally, walker.sensitive)
            return SKIP

        def _check(self, tally: _Tally, sensitive: list[str]) -> None:
            reasons = []
            if tally.depth > limits.max_depth:
                reasons.append(f"The query is {tally.depth} fields deep; at most {limits.max_depth} are allowed.")
            if tally.aliases > limits.max_aliases:
                reasons.append(f"The document uses {tally.aliases} aliases; at most {limits.max_aliases} are allowed.")
            if tally.directives > limits.max_directives:
                reasons.append(
                    f"The document uses {tally.directives} directives; at most {limits.max_directives} are allowed."
                )
            if tally.sensitive > 1:
                reasons.append(
                    f"Only one of {', '.join(sensitive)} may be sent per request; this document has {tally.sensitive}."
                )
            if reasons:  # one error for the document, however many limits it passes
                self.report_error(GraphQLError(" ".join(reasons)))

    return DocumentLimitsRule
