"""The one mapping from domain failures to result-union members."""

from __future__ import annotations

import pytest
from graphql import GraphQLError

from domain import errors
from resolvers import types
from resolvers.change_password import ChangePasswordResult
from resolvers.error_results import CANDIDATES, error_result
from resolvers.login import LoginResult
from resolvers.register import RegisterResult


def every_expected_failure() -> list[type[errors.AuthError]]:
    found, todo = [], [errors.AuthError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


@pytest.mark.parametrize("failure", every_expected_failure(), ids=lambda failure: failure.__name__)
def test_every_expected_failure_has_a_member(failure: type[errors.AuthError]) -> None:
    # InvalidAccessToken is the top-level UNAUTHENTICATED error; EmailAlreadyTaken is a
    # repository's signal, ProviderRefused the provider adapter's, that the services handle
    # and never raise to a caller.
    exempt = {errors.InvalidAccessToken, errors.EmailAlreadyTaken, errors.ProviderRefused}
    assert failure in CANDIDATES or failure in exempt


def test_a_wrong_password_is_the_member_the_operation_offers() -> None:
    assert isinstance(error_result(errors.InvalidCredentials(), LoginResult), types.InvalidCredentials)
    assert isinstance(error_result(errors.InvalidCredentials(), ChangePasswordResult), types.WrongPassword)


def test_a_failure_the_union_has_no_member_for_is_raised_again() -> None:
    with pytest.raises(errors.InvalidOtp):
        error_result(errors.InvalidOtp(), RegisterResult)


def test_an_ended_session_is_unauthenticated() -> None:
    with pytest.raises(GraphQLError) as raised:
        error_result(errors.InvalidAccessToken(), ChangePasswordResult)
    assert raised.value.extensions == {"code": "UNAUTHENTICATED"}
