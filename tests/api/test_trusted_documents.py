"""Trusted documents: an SPA's documents sent by id; with TRUSTED_DOCUMENTS_ONLY, nothing else runs."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.client import LOGIN, PASSWORD, Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only
from web.app import trusted_documents

if TYPE_CHECKING:
    from pathlib import Path

ME = "query Me { me { id email } }"
OPERATIONS = "query Me { me { id } } query Typename { __typename }"


def document_id(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def manifest(tmp_path: Path, *documents: str, ids: dict[str, str] | None = None) -> Path:
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps(ids if ids is not None else {document_id(d): d for d in documents}))
    return path


async def by_id(gateway: Gateway, document: str, variables: dict[str, Any] | None = None, **extra: Any) -> Any:
    body = {"documentId": document_id(document), "variables": variables or {}, **extra}
    return await gateway.http.post("/graphql", json=body)


@pytest.fixture
async def trusting(gateway_factory: GatewayFactory, tmp_path: Path) -> Gateway:
    gateway: Gateway = await gateway_factory(trusted_documents=manifest(tmp_path, ME, LOGIN, OPERATIONS))
    return gateway


@pytest.fixture
async def only_trusted(gateway_factory: GatewayFactory, tmp_path: Path) -> Gateway:
    path = manifest(tmp_path, ME, LOGIN, OPERATIONS)
    gateway: Gateway = await gateway_factory(app_env="production", trusted_documents=path, trusted_documents_only=True)
    return gateway


@sqlite_only
class TestDocumentsById:
    async def test_a_document_named_by_its_id_runs_with_the_requests_variables(self, trusting: Gateway) -> None:
        tokens = await trusting.signed_up("trusted@example.com")
        for password, answer in ((PASSWORD + "x", "InvalidCredentials"), (PASSWORD, "AuthPayload")):
            variables = {"input": {"email": "trusted@example.com", "password": password}}
            response = await by_id(trusting, LOGIN, variables)
            assert response.json()["data"]["login"]["__typename"] == answer
        me = await by_id(trusting, ME, headers={})
        assert me.json() == {"data": {"me": None}}
        response = await trusting.http.post(
            "/graphql",
            json={"documentId": document_id(ME)},
            headers={"Authorization": f"Bearer {tokens['accessToken']}"},
        )
        assert response.json()["data"]["me"]["email"] == "trusted@example.com"

    async def test_apollos_persisted_query_hash_and_a_bare_hex_id_name_it_too(self, trusting: Gateway) -> None:
        digest = hashlib.sha256(ME.encode()).hexdigest()
        apollo = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
        for body in (apollo, {"documentId": digest}):
            response = await trusting.http.post("/graphql", json=body)
            assert response.json() == {"data": {"me": None}}

    async def test_the_operation_named_in_the_request_is_the_one_that_runs(self, trusting: Gateway) -> None:
        response = await by_id(trusting, OPERATIONS, operationName="Typename")
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_a_get_names_it_the_same_way_in_development(self, trusting: Gateway) -> None:
        response = await trusting.http.get("/graphql", params={"documentId": document_id(ME)})
        assert response.json() == {"data": {"me": None}}
        response = await trusting.http.get("/graphql", params={"documentId": document_id("{ x }")})
        assert response.status_code == 400

    async def test_an_unknown_id_is_refused(self, trusting: Gateway) -> None:
        for document_id_sent in (document_id("{ __typename }"), "not an id", 7):
            response = await trusting.http.post("/graphql", json={"documentId": document_id_sent})
            assert response.status_code == 400
            [error] = response.json()["errors"]
            assert error["message"] == "No trusted document has this documentId"

    async def test_an_id_and_a_query_together_are_refused(self, trusting: Gateway) -> None:
        response = await trusting.http.post("/graphql", json={"documentId": document_id(ME), "query": ME})
        assert response.status_code == 400

    async def test_other_documents_still_run_unless_only_trusted_ones_may(self, trusting: Gateway) -> None:
        assert await trusting.post("{ __typename }") == {"data": {"__typename": "Query"}}


@sqlite_only
class TestOnlyTrustedDocuments:
    async def test_the_text_of_a_document_is_refused_before_anything_parses_it(self, only_trusted: Gateway) -> None:
        for query in ("{ __typename }", ME, "{ __schema { types { name } } }", "{ {{{"):
            response = await only_trusted.http.post("/graphql", json={"query": query})
            assert response.status_code == 400
            [error] = response.json()["errors"]
            assert error["message"] == "Only trusted documents are run here: send the document's documentId"

    async def test_trusted_documents_run(self, gateway_factory: GatewayFactory, tmp_path: Path) -> None:
        await (await gateway_factory()).signed_up("only@example.com")  # the same database, all documents
        path = manifest(tmp_path, LOGIN)
        only_trusted = await gateway_factory(app_env="production", trusted_documents=path, trusted_documents_only=True)
        variables = {"input": {"email": "only@example.com", "password": PASSWORD}}
        for _ in range(2):  # the first time and the short way
            response = await by_id(only_trusted, LOGIN, variables)
            assert response.json()["data"]["login"]["__typename"] == "AuthPayload"


class TestTheManifestIsCheckedAtStart:
    @pytest.mark.parametrize(
        ("ids", "problem"),
        [
            ({document_id("{ __typename }"): "{ me { id } }"}, "does not hash to its id"),
            ({"sha1:abc": "{ me { id } }"}, "is not a SHA-256 in hex"),
            ({document_id("{ me { password } }"): "{ me { password } }"}, "is refused: Cannot query field"),
            ({document_id("{ me { "): "{ me { "}, "is refused: Syntax Error"),
        ],
    )
    async def test_a_bad_entry_stops_the_start(self, tmp_path: Path, ids: dict[str, str], problem: str) -> None:
        from tests.support.settings import make_settings

        settings = make_settings("sqlite://:memory:", 25, tmp_path, trusted_documents=manifest(tmp_path, ids=ids))
        with pytest.raises(ValueError, match=problem):
            trusted_documents(settings)

    async def test_introspection_is_refused_in_production_manifests_too(self, tmp_path: Path) -> None:
        from tests.support.settings import make_settings

        text = "{ __schema { queryType { name } } }"
        path = manifest(tmp_path, text)
        assert trusted_documents(make_settings("sqlite://:memory:", 25, tmp_path, trusted_documents=path))
        production = make_settings("sqlite://:memory:", 25, tmp_path, trusted_documents=path, app_env="production")
        with pytest.raises(ValueError, match="introspection"):
            trusted_documents(production)

    def test_only_trusted_documents_need_a_manifest(self, tmp_path: Path) -> None:
        from tests.support.settings import make_settings

        with pytest.raises(ValueError, match="TRUSTED_DOCUMENTS_ONLY needs TRUSTED_DOCUMENTS"):
            make_settings("sqlite://:memory:", 25, tmp_path, trusted_documents_only=True)
