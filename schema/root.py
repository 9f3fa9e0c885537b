"""Query and Mutation, assembled from the resolvers."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import strawberry
from strawberry.extensions import DisableIntrospection, ParserCache
from strawberry.schema.config import StrawberryConfig

from resolvers.change_password import change_password
from resolvers.confirm_email_change import confirm_email_change
from resolvers.delete_account import delete_account
from resolvers.login import login
from resolvers.logout import logout
from resolvers.logout_all import logout_all
from resolvers.me import me
from resolvers.permissions import SIGNED_IN
from resolvers.refresh_token import refresh_token
from resolvers.register import register
from resolvers.request_email_change import request_email_change
from resolvers.request_password_reset import request_password_reset
from resolvers.resend_otp import resend_otp
from resolvers.reset_password import reset_password
from resolvers.revoke_session import revoke_session
from resolvers.sessions import sessions
from resolvers.update_profile import update_profile
from resolvers.verify_otp import verify_otp
from schema.limits import NOT_SENSITIVE, SENSITIVE, undeclared_mutations
from schema.masking import GatewaySchema
from schema.operations import RecordOperations
from schema.validation import DocumentValidator, ValidatedDocuments

if TYPE_CHECKING:
    from collections.abc import Callable

    from strawberry.extensions import SchemaExtension

    from schema.limits import GraphQLLimits

SDL_PATH = Path(__file__).with_name("schema.graphql")

# Distinct documents whose parse and validation are kept, per process. Clients send the
# same few documents again and again; the caches are bounded (LRU), so a stream of new
# ones only evicts old entries. Validation is a pure function of the document, the schema
# and the rules (ours included: schema.limits, which schema.validation checks first), so
# each distinct document is still checked against every rule once, and a refused
# document is refused again each time it comes.
DOCUMENT_CACHE_SIZE = 256


@strawberry.type
class Query:
    me = strawberry.field(resolver=me)
    sessions = strawberry.field(resolver=sessions, permission_classes=SIGNED_IN)


# Every mutation says whether it is SENSITIVE (it takes or mints a credential, so a
# request may carry only one of them: one request is one guess) or NOT_SENSITIVE
# (schema.limits); build_schema refuses a mutation that says neither.
@strawberry.type
class Mutation:
    register = strawberry.mutation(resolver=register, metadata=SENSITIVE)
    verify_otp = strawberry.mutation(resolver=verify_otp, metadata=SENSITIVE)
    login = strawberry.mutation(resolver=login, metadata=SENSITIVE)
    refresh_token = strawberry.mutation(resolver=refresh_token, metadata=SENSITIVE)
    resend_otp = strawberry.mutation(resolver=resend_otp, metadata=SENSITIVE)
    logout = strawberry.mutation(resolver=logout, permission_classes=SIGNED_IN, metadata=NOT_SENSITIVE)
    logout_all = strawberry.mutation(resolver=logout_all, permission_classes=SIGNED_IN, metadata=NOT_SENSITIVE)
    revoke_session = strawberry.mutation(resolver=revoke_session, permission_classes=SIGNED_IN, metadata=NOT_SENSITIVE)
    request_password_reset = strawberry.mutation(resolver=request_password_reset, metadata=SENSITIVE)
    reset_password = strawberry.mutation(resolver=reset_password, metadata=SENSITIVE)
    change_password = strawberry.mutation(resolver=change_password, permission_classes=SIGNED_IN, metadata=SENSITIVE)
    update_profile = strawberry.mutation(resolver=update_profile, permission_classes=SIGNED_IN, metadata=NOT_SENSITIVE)
    request_email_change = strawberry.mutation(
        resolver=request_email_change, permission_classes=SIGNED_IN, metadata=SENSITIVE
    )
    confirm_email_change = strawberry.mutation(
        resolver=confirm_email_change, permission_classes=SIGNED_IN, metadata=SENSITIVE
    )
    delete_account = strawberry.mutation(resolver=delete_account, permission_classes=SIGNED_IN, metadata=SENSITIVE)


def build_schema(
    limits: GraphQLLimits | None = None, *, introspection: bool = True, suggestions: bool = True
) -> GatewaySchema:
    """The schema; ``limits`` bound every document, production turns introspection and suggestions off."""
    validator = DocumentValidator(limits.rule() if limits else None, maxsize=DOCUMENT_CACHE_SIZE)
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        RecordOperations,
        functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        functools.partial(ValidatedDocuments, validator),
    ]
    if limits is not None:
        extensions.extend(limits.extensions())
    if not introspection:
        extensions.append(DisableIntrospection)
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(),
        hide_suggestions=not suggestions,
    )
    if undeclared := undeclared_mutations(schema._schema):
        raise TypeError(f"Mutation fields {', '.join(undeclared)} must be declared metadata=SENSITIVE or NOT_SENSITIVE")
    return schema


def print_sdl() -> str:
    return str(build_schema()) + "\n"
