"""Every mail in every shipped language: complete catalogs, kept placeholders, no English left over."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import wiring
from domain import messages
from domain.entities import MailKind, OutgoingMail
from mail.catalogs import LOCALES_DIR, SOURCE_LOCALE, catalog_path, shipped_locales
from mail.render import TEMPLATES_DIR, MailRenderer, lifetime_in_words
from settings import Settings
from tests.integration.test_mail_templates import (
    AT,
    CODE,
    CODE_KINDS,
    NEW_EMAIL,
    PROVIDER_NOTICES,
    SIGN_IN_LINK,
    complete_mail,
    notice_variants,
)

PRODUCT = "Zephyr Notes"
PROVIDER = "Example SSO"
TRANSLATED = [locale for locale in shipped_locales() if locale != SOURCE_LOCALE]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
MsgId = str | tuple[str, ...]  # a plural's msgid is its two English forms


def english_msgids() -> dict[MsgId, set[str]]:
    """Every msgid in the templates (read from them, not from the .pot), with its placeholders."""
    found: dict[MsgId, set[str]] = {}
    method_map = [("**.txt", "jinja2"), ("**.html", "jinja2")]
    for _, _, message, _, _ in extract_from_dir(str(TEMPLATES_DIR), method_map=method_map):
        msgid: MsgId = message if isinstance(message, str) else tuple(message)
        text = msgid if isinstance(msgid, str) else " ".join(msgid)
        found[msgid] = set(PLACEHOLDER.findall(text))
    return found


ENGLISH = english_msgids()


def read_catalog(locale: str) -> dict[MsgId, tuple[list[str], bool]]:
    with catalog_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale)
    return {
        (message.id if isinstance(message.id, str) else tuple(message.id)): (
            [message.string] if isinstance(message.string, str) else [str(form) for form in message.string or ()],
            message.fuzzy,
        )
        for message in catalog
        if message.id
    }


def test_at_least_two_languages_ship_besides_english() -> None:
    assert shipped_locales()[0] == SOURCE_LOCALE
    assert {"de", "fr"} <= set(TRANSLATED)
    assert len(ENGLISH) > 40  # the extraction found the templates' words


def test_the_template_file_lists_every_english_msgid() -> None:
    """``make messages-extract`` was run after the last change to the templates' words."""
    with (LOCALES_DIR / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    listed = {message.id if isinstance(message.id, str) else tuple(message.id) for message in template if message.id}
    assert listed == set(ENGLISH)


@pytest.mark.parametrize("locale", TRANSLATED)
class TestEveryCatalog:
    def test_translates_every_english_msgid_and_nothing_else(self, locale: str) -> None:
        catalog = read_catalog(locale)
        missing = [msgid for msgid in ENGLISH if msgid not in catalog]
        untranslated = [msgid for msgid, (strings, fuzzy) in catalog.items() if fuzzy or not all(strings)]
        assert missing == []
        assert untranslated == []
        assert set(catalog) == set(ENGLISH), "obsolete entries: run make messages-update"

    def test_keeps_every_placeholder_of_each_msgid(self, locale: str) -> None:
        for msgid, (strings, _) in read_catalog(locale).items():
            for string in strings:
                assert set(PLACEHOLDER.findall(string)) == ENGLISH[msgid], (msgid, string)


def mail_in(kind: MailKind, locale: str) -> OutgoingMail:
    mail = complete_mail(kind, product=PRODUCT)
    return OutgoingMail(**{**mail.__dict__, "locale": locale})


def english_sentences() -> set[str]:
    """The English words of every msgid, cut at its placeholders, long enough to be telling."""
    pieces: set[str] = set()
    for msgid in ENGLISH:
        for text in [msgid] if isinstance(msgid, str) else list(msgid):
            pieces.update(piece.strip() for piece in PLACEHOLDER.split(text) if len(piece.strip()) >= 12)
    return pieces


@pytest.fixture(scope="module")
def renderer() -> MailRenderer:
    return MailRenderer()


@pytest.mark.parametrize("locale", shipped_locales())
@pytest.mark.parametrize("kind", list(MailKind))
class TestEveryKindInEveryLanguage:
    def test_renders_with_its_values_in_subject_text_and_html(
        self, renderer: MailRenderer, kind: MailKind, locale: str
    ) -> None:
        rendered = renderer.render(mail_in(kind, locale))
        for part in (rendered.subject, rendered.text, rendered.html):
            assert PRODUCT in part
        for body in (rendered.text, rendered.html):
            if kind in CODE_KINDS:
                assert CODE in body
                assert lifetime_in_words(600, locale) in " ".join(body.split())
            if kind is MailKind.EMAIL_CHANGED:
                assert NEW_EMAIL in body
            if kind in (*PROVIDER_NOTICES, MailKind.CONFIRM_PROVIDER_EMAIL):
                assert PROVIDER in " ".join(body.split())
            if kind is MailKind.SIGN_IN_CODE:
                assert SIGN_IN_LINK in body
            if kind is MailKind.RECOVERY_CODE_USED:
                assert re.search(r"\b2\b", body)
        assert f'<html lang="{locale.replace("_", "-")}">' in rendered.html
        assert "%(" not in rendered.text + rendered.html + rendered.subject


@pytest.mark.parametrize("locale", TRANSLATED)
@pytest.mark.parametrize("kind", list(MailKind))
class TestEveryKindTranslated:
    def test_leaves_no_english_sentence_behind(self, renderer: MailRenderer, kind: MailKind, locale: str) -> None:
        rendered = renderer.render(mail_in(kind, locale))
        english = renderer.render(mail_in(kind, SOURCE_LOCALE))
        assert rendered.subject != english.subject
        for body in (rendered.subject, " ".join(rendered.text.split()), rendered.html):
            left = [sentence for sentence in english_sentences() if sentence in body]
            assert left == [], left


@pytest.mark.parametrize("locale", TRANSLATED)
@pytest.mark.parametrize("variant", list(notice_variants()))
def test_each_notice_variant_is_translated_too(renderer: MailRenderer, variant: str, locale: str) -> None:
    english = notice_variants(PRODUCT)[variant]
    rendered = renderer.render(OutgoingMail(**{**english.__dict__, "locale": locale}))
    for body in (" ".join(rendered.text.split()), rendered.html):
        left = [sentence for sentence in english_sentences() if sentence in body]
        assert left == [], left
        assert "2026-11-29 23:04 UTC" in body


class TestLanguageChoice:
    def test_a_mail_without_a_language_or_with_one_no_longer_shipped_uses_the_default(self) -> None:
        german = MailRenderer(default_locale="de")
        for locale in (None, "tlh"):
            mail = messages.password_changed("ann@example.com", PRODUCT, at=AT, client=None, locale=locale)
            assert german.render(mail).text.startswith("Hallo,")

    def test_a_default_that_does_not_ship_is_refused(self) -> None:
        with pytest.raises(ValueError, match="tlh"):
            MailRenderer(default_locale="tlh")

    @pytest.mark.parametrize(
        ("seconds", "locale", "words"),
        [(3600, "de", "1 Stunde"), (600, "de", "10 Minuten"), (90, "fr", "90\u00a0secondes"), (7200, "en", "2 hours")],
    )
    def test_a_codes_lifetime_is_said_in_the_mails_language(self, seconds: int, locale: str, words: str) -> None:
        assert lifetime_in_words(seconds, locale) == words

    def test_the_plural_follows_the_language(self, renderer: MailRenderer) -> None:
        one = renderer.render(
            messages.recovery_code_used("ann@example.com", PRODUCT, 1, at=AT, client=None, locale="fr")
        )
        five = renderer.render(
            messages.recovery_code_used("ann@example.com", PRODUCT, 5, at=AT, client=None, locale="fr")
        )
        assert "Il vous reste 1 code de récupération." in " ".join(one.text.split())
        assert "Il vous reste 5 codes de récupération." in " ".join(five.text.split())


def test_every_catalog_directory_holds_a_catalog() -> None:
    """A language directory without its ``messages.po`` would ship silently in English."""
    for directory in Path(LOCALES_DIR).iterdir():
        if directory.is_dir():
            assert catalog_path(directory.name).is_file(), directory


class TestTheDefaultLanguageSetting:
    def test_the_gateway_takes_a_shipped_one_and_offers_every_shipped_language(self) -> None:
        settings = Settings(_env_file=None, default_locale="de")
        policy = wiring.auth_policy(settings)
        assert (policy.default_locale, policy.mail_locales) == ("de", shipped_locales())
        assert wiring.mail_renderer(settings).default_locale == "de"

    def test_the_gateway_refuses_to_start_with_one_that_does_not_ship(self) -> None:
        settings = Settings(_env_file=None, default_locale="tlh")
        with pytest.raises(ValueError, match="DEFAULT_LOCALE='tlh'"):
            wiring.auth_policy(settings)
        with pytest.raises(ValueError, match="tlh"):
            wiring.build_mailer(settings)
