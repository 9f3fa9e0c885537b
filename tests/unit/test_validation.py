from __future__ import annotations

import pytest

from domain.errors import FieldError, InvalidInput
from domain.validation import (
    InputCollector,
    check_name,
    check_new_password,
    normalise_email,
    normalise_password,
)


def fields_of(errors: InputCollector) -> list[str]:
    return [error.field for error in errors.errors]


class TestNormaliseEmail:
    def test_trims_and_lower_cases_the_domain_only(self) -> None:
        errors = InputCollector()
        assert normalise_email("  Alice.Liddell@Example.COM \n", errors) == "Alice.Liddell@example.com"
        assert errors.errors == []

    @pytest.mark.parametrize(
        "raw",
        ["", "   ", "alice", "alice@", "@example.com", "alice@example", "a b@example.com", "a\ud800@example.com"],
    )
    def test_rejects_what_is_not_an_address(self, raw: str) -> None:
        errors = InputCollector()
        normalise_email(raw, errors)
        assert fields_of(errors) == ["email"]

    def test_rejects_an_address_longer_than_254_characters(self) -> None:
        errors = InputCollector()
        normalise_email("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com", errors)
        assert fields_of(errors) == ["email"]

    def test_names_the_field_it_was_given(self) -> None:
        errors = InputCollector()
        normalise_email("nope", errors, field="new_email")
        assert fields_of(errors) == ["new_email"]

    def test_accepts_an_internationalised_address(self) -> None:
        errors = InputCollector()
        assert normalise_email("jürgen@bücher.example.com", errors) == "jürgen@bücher.example.com"
        assert errors.errors == []


ADDRESS = "alice.liddell@example.com"


class TestCheckNewPassword:
    @pytest.mark.parametrize("password", ["q7#vX!p2", "z" + "q" * 127, "пароль-密码-🔑🔑", "  tw  o   "])
    def test_accepts_8_to_128_characters_of_any_kind(self, password: str) -> None:
        errors = InputCollector()
        assert check_new_password(password, errors, ADDRESS) == password
        assert errors.errors == []

    @pytest.mark.parametrize("password", ["", "q7#vX!p", "z" * 129])
    def test_rejects_shorter_or_longer(self, password: str) -> None:
        errors = InputCollector()
        check_new_password(password, errors, ADDRESS)
        assert fields_of(errors) == ["password"]

    def test_counts_characters_after_nfkc(self) -> None:
        # "ﬁ" (one ligature) is "fi" (two letters) once normalised.
        errors = InputCollector()
        assert check_new_password("ﬁ" * 3 + "ZQ", errors, ADDRESS) == "fi" * 3 + "ZQ"
        assert errors.errors == []

        errors = InputCollector()
        check_new_password("ﬁ" * 65, errors, ADDRESS)
        assert fields_of(errors) == ["password"]

    def test_rejects_a_lone_surrogate(self) -> None:
        errors = InputCollector()
        check_new_password("pass\ud800word", errors, ADDRESS)
        assert fields_of(errors) == ["password"]

    @pytest.mark.parametrize("password", ["password", "12345678", "iloveyou", "PassWord", "trustno1", "football"])
    def test_rejects_a_common_password_whatever_its_case(self, password: str) -> None:
        errors = InputCollector()
        check_new_password(password, errors, ADDRESS)
        assert [e.message for e in errors.errors] == [
            "This is one of the most common passwords, so it is among the first ones guessed. Choose another."
        ]

    @pytest.mark.parametrize(
        "password", ["alice.liddell", "Alice.Liddell", "my alice.liddell pw", "ALICE.LIDDELL@EXAMPLE.COM!"]
    )
    def test_rejects_the_address_or_its_name_part(self, password: str) -> None:
        errors = InputCollector()
        check_new_password(password, errors, ADDRESS)
        assert [e.message for e in errors.errors] == [
            "The password must not contain your e-mail address or its name part. Choose another."
        ]

    def test_a_short_name_part_may_appear_inside_a_password(self) -> None:
        errors = InputCollector()
        check_new_password("banjo-in-the-rain", errors, "jo@example.com")
        assert errors.errors == []

        check_new_password("jo", errors, "jo@example.com")  # too short anyway
        check_new_password("JO@EXAMPLE.COM", errors, "jo@example.com")
        assert len(errors.errors) == 2

    def test_normalisation_makes_equivalent_spellings_equal(self) -> None:
        composed, decomposed = "caf\u00e9-password", "cafe\u0301-password"
        assert composed != decomposed
        assert normalise_password(composed) == normalise_password(decomposed)


class TestCheckName:
    def test_absent_name_stays_absent(self) -> None:
        errors = InputCollector()
        assert check_name(None, errors, "first_name") is None
        assert errors.errors == []

    @pytest.mark.parametrize("name", ["A", "Zoë", "李", "x" * 128])
    def test_accepts_1_to_128_characters(self, name: str) -> None:
        errors = InputCollector()
        assert check_name(name, errors, "first_name") == name
        assert errors.errors == []

    def test_trims_surrounding_space(self) -> None:
        errors = InputCollector()
        assert check_name("  Alice ", errors, "first_name") == "Alice"

    @pytest.mark.parametrize("name", ["", "   ", "x" * 129, "Al\x00ice", "Al\nice"])
    def test_rejects_empty_too_long_or_control_characters(self, name: str) -> None:
        errors = InputCollector()
        check_name(name, errors, "last_name")
        assert fields_of(errors) == ["last_name"]

    def test_rejects_a_lone_surrogate(self) -> None:
        errors = InputCollector()
        check_name("Al\ud800ice", errors, "first_name")
        assert fields_of(errors) == ["first_name"]


class TestInputCollector:
    def test_raises_nothing_without_problems(self) -> None:
        InputCollector().raise_if_any()

    def test_raises_every_problem_at_once(self) -> None:
        errors = InputCollector()
        errors.add("email", "bad address")
        errors.add("password", "too short")
        with pytest.raises(InvalidInput) as raised:
            errors.raise_if_any()
        assert raised.value.errors == (
            FieldError("email", "bad address"),
            FieldError("password", "too short"),
        )
        assert str(raised.value) == "email: bad address; password: too short"
