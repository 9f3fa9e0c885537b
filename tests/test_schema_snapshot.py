from __future__ import annotations

from schema.root import SDL_PATH, print_sdl


def test_committed_schema_matches_the_code() -> None:
    committed = SDL_PATH.read_text(encoding="utf-8")
    assert print_sdl() == committed, (
        "schema/schema.graphql is out of date with the code; regenerate it with `make schema` "
        "(python -m schema) and commit it, after checking that the change is one SPAs can live with"
    )
