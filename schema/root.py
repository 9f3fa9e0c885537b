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
    """The schema; ``limits`` bound every document, production turns introspection and suggestions off.

    Each schema returned keeps documents in caches of its own (an app's schema has seen only
    that app's requests). Its types are converted once per process for each set of arguments:
    that is most of the cost of building one, and depends on nothing but the code.
    """
    validator, prepared = _document_caches(limits)
    return _converted_schema(limits, introspection, suggestions).with_document_caches(
        _extensions(limits, introspection, validator, prepared), validator, prepared
    )


@functools.cache
def _converted_schema(limits: GraphQLLimits | None, introspection: bool, suggestions: bool) -> GatewaySchema:
    validator, prepared = _document_caches(limits)
    # The rules each request is validated with: GraphQL's, and what DisableIntrospection adds.
    rules: tuple[type[ASTValidationRule], ...] = tuple(specified_rules)
    if not introspection:
        rules += (NoSchemaIntrospectionCustomRule,)
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        extensions=_extensions(limits, introspection, validator, prepared),
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


def _document_caches(limits: GraphQLLimits | None) -> tuple[DocumentValidator, PreparedOperations]:
    validator = DocumentValidator(limits.rule() if limits else None, maxsize=DOCUMENT_CACHE_SIZE)
    return validator, PreparedOperations(maxsize=DOCUMENT_CACHE_SIZE)


def _extensions(
    limits: GraphQLLimits | None, introspection: bool, validator: DocumentValidator, prepared: PreparedOperations
) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        RecordOperations,
        functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        functools.partial(ValidatedDocuments, validator, prepared),
    ]
    if limits is not None:
        extensions.extend(limits.extensions())
    if not introspection:
        extensions.append(DisableIntrospection)
    return extensions


def print_sdl() -> str:
    return str(build_schema()) + "\n"
