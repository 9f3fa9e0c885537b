from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from domain.services.account import UNCHANGED
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import InvalidInput, User


@strawberry.input(description="Leave a field out to keep it; set it to null to clear it.")
class UpdateProfileInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    locale: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "The language of the account's mails, one the gateway ships (`en`, `de`, `fr`, …); anything else"
            " is InvalidInput on `locale`. Null: the request's Accept-Language, else the default."
        ),
    )


UpdateProfileResult = Annotated[User | InvalidInput, strawberry.union("UpdateProfileResult")]


async def update_profile(
    info: Info[Context, None], input_: Annotated[UpdateProfileInput, strawberry.argument(name="input")]
) -> UpdateProfileResult:
    """Change the names on the account, or the language of its mails."""
    principal = await info.context.signed_in()
    try:
        user = await info.context.services.account.update_profile(
            principal,
            first_name=UNCHANGED if input_.first_name is strawberry.UNSET else input_.first_name,
            last_name=UNCHANGED if input_.last_name is strawberry.UNSET else input_.last_name,
            client=info.context.client,
            locale=UNCHANGED if input_.locale is strawberry.UNSET else input_.locale,
        )
    except errors.AuthError as failure:
        return error_result(failure, UpdateProfileResult)
    return User.from_domain(user)


field = strawberry.mutation(resolver=update_profile, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=NOT_SENSITIVE)
