"""The one failure that travels as a top-level GraphQL error: "you are not signed in"."""

from __future__ import annotations

from graphql import GraphQLError

UNAUTHENTICATED = "UNAUTHENTICATED"


def unauthenticated() -> GraphQLError:
    """SPAs refresh (then sign in again) on its code."""
    return GraphQLError(
        "Your access token is not valid; refresh it or sign in again.",
        extensions={"code": UNAUTHENTICATED},
    )
