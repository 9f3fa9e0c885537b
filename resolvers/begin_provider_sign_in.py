"""``beginProviderSignIn``: the first step of a sign-in with an OpenID Connect provider."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import InvalidInput, ProviderSignInStarted, ProviderUnavailable, RateLimited


@strawberry.input
class BeginProviderSignInInput:
    provider: str = strawberry.field(description="The provider's id, as the operator named it (OIDC_PROVIDERS).")
    return_url: str = strawberry.field(
        description="Where the browser comes back to with the one-time code: one of OIDC_RETURN_URLS, exactly."
    )


BeginProviderSignInResult = Annotated[
    ProviderSignInStarted | InvalidInput | ProviderUnavailable | RateLimited,
    strawberry.union("BeginProviderSignInResult"),
]


async def begin_provider_sign_in(
    info: Info[Context, None], input_: Annotated[BeginProviderSignInInput, strawberry.argument(name="input")]
) -> BeginProviderSignInResult:
    """The provider's authorization URL for this browser; send the request with credentials
    (a cookie binds the sign-in to the browser)."""
    context = info.context
    binding = context.binding
    try:
        started = await context.services.provider_sign_in.begin(
            input_.provider,
            input_.return_url,
            browser_secret=binding.read(context.request) if binding else None,
            client=context.client,
        )
    except errors.AuthError as failure:
        return error_result(failure, BeginProviderSignInResult)
    if binding is not None:
        binding.set(
            context.response, started.browser_secret, started.expires_in, cross_site=started.cross_site_callback
        )
    return ProviderSignInStarted(authorization_url=started.authorization_url, expires_in=started.expires_in)


field = strawberry.mutation(resolver=begin_provider_sign_in, metadata=NOT_SENSITIVE)
