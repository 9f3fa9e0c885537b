"""``signInWithLink``: the token of the link in a sign-in code's mail (SIGN_IN_LINK_URL)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.sign_in_answers import signed_in_answer
from resolvers.types import AuthPayload, InvalidOtp, MfaRequired, OtpExpired, RateLimited


@strawberry.input
class SignInWithLinkInput:
    token: str = strawberry.field(
        description="The `token` of the link's #fragment (`{SIGN_IN_LINK_URL}#token=…`), as it is."
    )


SignInWithLinkResult = Annotated[
    AuthPayload | MfaRequired | InvalidOtp | OtpExpired | RateLimited,
    strawberry.union("SignInWithLinkResult"),
]


async def sign_in_with_link(
    info: Info[Context, None], input_: Annotated[SignInWithLinkInput, strawberry.argument(name="input")]
) -> SignInWithLinkResult:
    """Sign in with the link of a requestSignInCode mail (once; it and the code spend each other);
    an account with a second factor answers MfaRequired."""
    try:
        signed_in = await info.context.services.code_sign_in.sign_in_with_link(input_.token, client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, SignInWithLinkResult)
    return signed_in_answer(info.context, signed_in)


field = strawberry.mutation(resolver=sign_in_with_link, metadata=SENSITIVE)
