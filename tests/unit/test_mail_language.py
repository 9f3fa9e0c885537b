"""Which language a mail is in: the domain's choice, the locale field's check, and the
caller's Accept-Language as the web layer reads it."""

from __future__ import annotations

import pytest

from domain.entities import Client
from domain.errors import InvalidInput
from domain.policy import AuthPolicy
from domain.validation import InputCollector, check_locale
from web.accept_language import MAX_RANGES, negotiated_locale, preferred_languages

SHIPPED = ("en", "de", "fr", "pt_BR")
POLICY = AuthPolicy(mail_locales=SHIPPED, default_locale="fr")


class TestMailLocale:
    def test_the_accounts_language_wins_over_the_callers(self) -> None:
        assert POLICY.mail_locale("de", Client(locale="en")) == "de"

    def test_without_one_the_callers_language(self) -> None:
        assert POLICY.mail_locale(None, Client(locale="pt_BR")) == "pt_BR"

    def test_a_language_that_no_longer_ships_is_passed_over(self) -> None:
        assert POLICY.mail_locale("it", Client(locale="de")) == "de"
        assert POLICY.mail_locale("it", Client(locale="es")) == "fr"

    def test_else_the_default(self) -> None:
        assert POLICY.mail_locale(None) == "fr"
        assert POLICY.mail_locale(None, Client()) == "fr"


class TestCheckLocale:
    @pytest.mark.parametrize(("given", "kept"), [("de", "de"), (" DE ", "de"), ("pt-br", "pt_BR"), (None, None)])
    def test_keeps_a_shipped_language_as_it_is_spelled_there(self, given: str | None, kept: str | None) -> None:
        errors = InputCollector()
        assert check_locale(given, SHIPPED, errors) == kept
        errors.raise_if_any()

    @pytest.mark.parametrize("given", ["", "es", "de_DE", "en;q=1", "x" * 10_000, "\ud800"])
    def test_anything_else_names_the_locale_field(self, given: str) -> None:
        errors = InputCollector()
        check_locale(given, SHIPPED, errors)
        with pytest.raises(InvalidInput) as raised:
            errors.raise_if_any()
        assert [error.field for error in raised.value.errors] == ["locale"]


class TestAcceptLanguage:
    def test_orders_by_weight_then_by_position(self) -> None:
        header = "fr;q=0.5, de-CH, en;q=0.8, it;q=0.8"
        assert preferred_languages(header) == ["de-ch", "en", "it", "fr"]

    def test_leaves_out_a_zero_weight_the_wildcard_and_anything_malformed(self) -> None:
        header = "de;q=0, *, fr;q=abc, 12;q=1, en-US;q=0.3, es;q=1.5, ;;, it"
        assert preferred_languages(header) == ["it", "en-us"]

    def test_reads_only_the_first_ranges(self) -> None:
        header = ", ".join(["xx"] * MAX_RANGES + ["de"])
        assert preferred_languages(header) == ["xx"] * MAX_RANGES

    @pytest.mark.parametrize(
        ("header", "chosen"),
        [
            ("de-CH, fr;q=0.9", "de"),
            ("es, fr;q=0.1", "fr"),
            ("pt-BR", "pt_BR"),
            ("es, it", None),
            ("", None),
            (None, None),
        ],
    )
    def test_negotiates_a_shipped_language(self, header: str | None, chosen: str | None) -> None:
        assert negotiated_locale(header, SHIPPED) == chosen
