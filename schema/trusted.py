"""Trusted documents: the GraphQL documents an SPA ships, sent by their id instead of their text.

The manifest is what GraphQL Code Generator's client preset writes with
``persistedDocuments`` (``persisted-documents.json``): a JSON object from each
document's id, the SHA-256 of its text in hex (optionally written ``sha256:<hex>``),
to the text. At start every id is checked against its text and every document is
validated against the schema; one bad entry stops the start. A request then names a
document with ``documentId`` (the GraphQL over HTTP draft's persisted documents) or
Apollo's ``extensions.persistedQuery.sha256Hash``.

With ``TRUSTED_DOCUMENTS_ONLY`` the gateway runs nothing else: a request that brings
the text of a document is refused before anything parses it, which shuts the door on
every document an attacker could write (docs/security.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING

from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, get_operation_ast, parse
from strawberry.types.graphql import OperationType

from schema.prepared import PreparedOperation

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from schema.masking import GatewaySchema

_ID = re.compile(r"(?:sha256:)?([0-9a-f]{64})")


class TrustedDocuments:
    """Documents by id, each checked against its id and validated against the schema."""

    def __init__(self, documents: Mapping[str, str], *, only: bool) -> None:
        """``documents``: id → text, as the manifest has them (ids are checked by ``check``)."""
        self.only = only
        self._by_hash: dict[str, str] = {}
        self._manifest = dict(documents)

    @classmethod
    def load(cls, path: Path, *, only: bool) -> TrustedDocuments:
        """The manifest at ``path``. Raises ValueError, naming the file, when it cannot be one."""
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"TRUSTED_DOCUMENTS: cannot read {path} as JSON: {exc}") from None
        if not isinstance(manifest, dict) or not all(isinstance(v, str) for v in manifest.values()):
            raise ValueError(f"TRUSTED_DOCUMENTS: {path} must be a JSON object from document ids to documents")
        return cls(manifest, only=only)

    def __len__(self) -> int:
        return len(self._manifest)

    def check(self, schema: GatewaySchema) -> None:
        """Check every entry and make each ready to run; raises ValueError naming the first bad one."""
        for document_id, text in self._manifest.items():
            match = _ID.fullmatch(document_id)
            if match is None:
                raise ValueError(f"TRUSTED_DOCUMENTS: {document_id[:80]!r} is not a SHA-256 in hex")
            digest = match[1]
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
                raise ValueError(f"TRUSTED_DOCUMENTS: the document {document_id} does not hash to its id")
            if problems := _prepare(schema, text):
                raise ValueError(f"TRUSTED_DOCUMENTS: the document {document_id} is refused: {problems[0].message}")
            self._by_hash[digest] = text

    def text(self, document_id: object) -> str | None:
        """The text of the document ``document_id`` names, if it is one of the manifest's."""
        if not isinstance(document_id, str):
            return None
        match = _ID.fullmatch(document_id)
        return self._by_hash.get(match[1]) if match else None


def _prepare(schema: GatewaySchema, text: str) -> list[GraphQLError]:
    """Validate ``text`` as a request would be, and keep each of its operations ready to run."""
    try:
        document = parse(text, max_tokens=schema.max_tokens)
    except GraphQLSyntaxError as error:
        return [error]
    errors = schema.validate_document(document)
    if errors:
        return errors
    assert schema.prepared is not None  # schema.prepared: built with the schema
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    # Named as a request may name it; and unnamed too, when it is the document's only operation.
    names: list[str | None] = [o.name.value for o in operations if o.name is not None]
    if len(operations) == 1:
        names.append(None)
    for name in names:
        operation = get_operation_ast(document, name)
        if operation is not None:
            prepared = PreparedOperation(document, OperationType(operation.operation.value))
            schema.prepared.remember(text, name, prepared)
    return []
