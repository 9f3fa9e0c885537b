"""Query and Mutation, assembled from the resolvers."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import strawberry
from graphql import NoSchemaIntrospectionCustomRule, specified_rules
from strawberry.extensions import DisableIntrospection, ParserCache
from strawberry.schema.config import StrawberryConfig

from resolvers import (
    begin_passkey_registration,
    begin_passkey_sign_in,
    begin_provider_sign_in,
    begin_reauthentication,
    begin_totp_enrolment,
    change_password,
    complete_sign_in,
    confirm_email_change,
    confirm_provider_email,
    confirm_totp_enrolment,
    delete_account,
    finish_passkey_registration,
    finish_passkey_sign_in,
    finish_provider_sign_in,
    link_provider,
    login,
    logout,
    logout_all,
    me,
    my_data,
    passkeys,
    provider_identities,
    reauthenticate,
    refresh_token,
    regenerate_recovery_codes,
    register,
    remove_passkey,
    remove_totp,
    rename_passkey,
    request_email_change,
    request_password_reset,
    request_sign_in_code,
    resend_otp,
    reset_password,
    revoke_session,
    second_factors,
    sessions,
    sign_in_providers,
    sign_in_with_code,
    sign_in_with_id_token,
    sign_in_with_link,
    unlink_provider,
    update_profile,
    verify_otp,
)
from schema.limits import undeclared_mutations
from schema.masking import GatewaySchema
from schema.operations import RecordOperations
from schema.prepared import PreparedOperations
from schema.validation import DocumentValidator, ValidatedDocuments

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql import ASTValidationRule
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


# Each field is declared in its resolver's module: its input, result union, permission
# and sensitivity (resolvers.sensitivity: build_schema refuses a mutation that says neither).
@strawberry.type
class Query:
    me = me.field
    sessions = sessions.field
    second_factors = second_factors.field
    passkeys = passkeys.field
    provider_identities = provider_identities.field
    sign_in_providers = sign_in_providers.field
    my_data = my_data.field


@strawberry.type
class Mutation:
    register = register.field
    verify_otp = verify_otp.field
    login = login.field
    refresh_token = refresh_token.field
    resend_otp = resend_otp.field
    logout = logout.field
    logout_all = logout_all.field
    revoke_session = revoke_session.field
    request_password_reset = request_password_reset.field
    reset_password = reset_password.field
    request_sign_in_code = request_sign_in_code.field
    sign_in_with_code = sign_in_with_code.field
    sign_in_with_link = sign_in_with_link.field
    change_password = change_password.field
    update_profile = update_profile.field
    request_email_change = request_email_change.field
    confirm_email_change = confirm_email_change.field
    delete_account = delete_account.field
    complete_sign_in = complete_sign_in.field
    begin_totp_enrolment = begin_totp_enrolment.field
    confirm_totp_enrolment = confirm_totp_enrolment.field
    regenerate_recovery_codes = regenerate_recovery_codes.field
    remove_totp = remove_totp.field
    begin_reauthentication = begin_reauthentication.field
    reauthenticate = reauthenticate.field
    begin_passkey_registration = begin_passkey_registration.field
    finish_passkey_registration = finish_passkey_registration.field
    remove_passkey = remove_passkey.field
    rename_passkey = rename_passkey.field
    begin_passkey_sign_in = begin_passkey_sign_in.field
    finish_passkey_sign_in = finish_passkey_sign_in.field
    begin_provider_sign_in = begin_provider_sign_in.field
    finish_provider_sign_in = finish_provider_sign_in.field
    sign_in_with_id_token = sign_in_with_id_token.field
    confirm_provider_email = confirm_provider_email.field
    link_provider = link_provider.field
    unlink_provider = unlink_provider.field


def build_schema(
    limits: GraphQLLimits | None = None, *, introspection: bool = True, suggestions: bool = True
) -> GatewaySchema:
    """The schema; ``limits`` bound every document, production turns introspection and suggestions off."""
    validator = DocumentValidator(limits.rule() if limits else None, maxsize=DOCUMENT_CACHE_SIZE)
    prepared = PreparedOperations(maxsize=DOCUMENT_CACHE_SIZE)
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        RecordOperations,
        functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        functools.partial(ValidatedDocuments, validator, prepared),
    ]
    if limits is not None:
        extensions.extend(limits.extensions())
    # The rules each request is validated with: GraphQL's, and what DisableIntrospection adds.
    rules: tuple[type[ASTValidationRule], ...] = tuple(specified_rules)
    if not introspection:
        extensions.append(DisableIntrospection)
        rules += (NoSchemaIntrospectionCustomRule,)
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(),
        hide_suggestions=not suggestions,
        prepared=prepared,
        validator=validator,
        validation_rules=rules,
        max_tokens=limits.max_tokens if limits else None,
    )
    if undeclared := undeclared_mutations(schema._schema):
        raise TypeError(f"Mutation fields {', '.join(undeclared)} must be declared metadata=SENSITIVE or NOT_SENSITIVE")
    return schema


def print_sdl() -> str:
    return str(build_schema()) + "\n"
