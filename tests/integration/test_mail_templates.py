"""What each kind of mail says, rendered from the real templates in ``mail/templates``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from jinja2 import DictLoader, TemplateNotFound, UndefinedError

from domain import messages
from domain.entities import Client, MailKind, OutgoingMail
from mail.render import MailRenderer, RenderedMail

CODE = "424242"
PRODUCT = "Acme"
TO = "ann@example.com"
NEW_EMAIL = "ann.new@example.org"
OLD_EMAIL = "ann.old@example.net"
AT = datetime(2026, 11, 29, 23, 4, tzinfo=UTC)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CLIENT = Client(ip="198.51.100.7", user_agent=FIREFOX)
CODE_KINDS = [
    MailKind.VERIFY_EMAIL,
    MailKind.RESET_PASSWORD,
    MailKind.CHANGE_EMAIL,
    MailKind.SIGN_IN_CODE,
    MailKind.CONFIRM_PROVIDER_EMAIL,
]
PROVIDER_NOTICES = [MailKind.PROVIDER_LINKED, MailKind.PROVIDER_UNLINKED, MailKind.PROVIDER_ACCOUNT_CREATED]
PROVIDER = "Example SSO"
SIGN_IN_LINK = "https://app.example.com/sign-in#token=Zm9vYmFy"
# every notice of a change to the account's security (the new-device notice says when and where its own way)
NOTICE_KINDS = [
    MailKind.PASSWORD_CHANGED,
    MailKind.EMAIL_CHANGED,
    MailKind.RECOVERY_CODE_USED,
    MailKind.RECOVERY_CODES_REPLACED,
    MailKind.SECOND_FACTOR_ENABLED,
    MailKind.SECOND_FACTOR_REMOVED,
    MailKind.PASSKEY_ADDED,
    MailKind.PASSKEY_REMOVED,
    *PROVIDER_NOTICES,
]


@pytest.fixture(scope="module")
def renderer() -> MailRenderer:
    return MailRenderer()


def complete_mail(kind: MailKind, product: str = PRODUCT, lifetime_seconds: int = 600) -> OutgoingMail:
    """A mail of ``kind`` with every value its kind needs, as the domain builds it."""
    if kind is MailKind.SIGN_IN_CODE:
        return messages.code(TO, kind, product, CODE, lifetime_seconds, link=SIGN_IN_LINK)
    if kind is MailKind.CONFIRM_PROVIDER_EMAIL:
        return messages.code(TO, kind, product, CODE, lifetime_seconds, provider=PROVIDER)
    if kind in CODE_KINDS:
        return messages.code(TO, kind, product, CODE, lifetime_seconds)
    if kind is MailKind.EMAIL_CHANGED:
        return messages.email_changed(TO, product, NEW_EMAIL, at=AT, client=CLIENT)
    if kind is MailKind.ALREADY_REGISTERED:
        return messages.already_registered(TO, product)
    if kind is MailKind.ADDRESS_IN_USE:
        return messages.address_in_use(TO, product)
    if kind in messages.SECOND_FACTOR_NOTICES:
        return messages.second_factor_notice(TO, kind, product, at=AT, client=CLIENT)
    if kind in (MailKind.PASSKEY_ADDED, MailKind.PASSKEY_REMOVED):
        return messages.passkey_notice(TO, kind, product, at=AT, client=CLIENT)
    if kind is MailKind.RECOVERY_CODE_USED:
        return messages.recovery_code_used(TO, product, 2, at=AT, client=CLIENT)
    if kind in PROVIDER_NOTICES:
        return messages.provider_notice(TO, kind, product, PROVIDER, at=AT, client=CLIENT)
    if kind is MailKind.NEW_DEVICE_SIGN_IN:
        return messages.new_device_sign_in(
            TO, product, "Sunday 29 November 2026, 23:04 UTC", "198.51.100.7", "Firefox on Windows"
        )
    assert kind is MailKind.PASSWORD_CHANGED
    return messages.password_changed(TO, product, at=AT, client=CLIENT)


def notice_variants(product: str = PRODUCT) -> dict[str, OutgoingMail]:
    """The notices that say something else in another case: a reset, an operator's command, the new address."""
    return {
        "password reset": messages.password_changed(TO, product, at=AT, client=CLIENT, reset=True),
        "factors removed by an operator": messages.second_factor_notice(
            TO, MailKind.SECOND_FACTOR_REMOVED, product, at=AT, client=None
        ),
        "e-mail changed, to the new address": messages.email_changed_here(
            NEW_EMAIL, product, OLD_EMAIL, at=AT, client=CLIENT
        ),
    }


def flat(body: str) -> str:
    """``body`` with its line wrapping undone, so a test can look for a whole sentence."""
    return " ".join(body.split())


@pytest.mark.parametrize("kind", list(MailKind))
class TestEveryKind:
    def test_has_a_subject_a_text_and_an_html_template(self, renderer: MailRenderer, kind: MailKind) -> None:
        templates = renderer.templates(kind)
        assert [template.name for template in templates] == [f"{kind}.subject.txt", f"{kind}.txt", f"{kind}.html"]

    def test_names_the_product_everywhere(self, renderer: MailRenderer, kind: MailKind) -> None:
        mail = renderer.render(complete_mail(kind, product="Zephyr Notes"))
        assert "Zephyr Notes" in mail.subject
        assert "Zephyr Notes" in mail.text
        assert "Zephyr Notes" in mail.html

    def test_subject_is_one_line(self, renderer: MailRenderer, kind: MailKind) -> None:
        subject = renderer.render(complete_mail(kind)).subject
        assert subject
        assert subject == subject.strip()
        assert "\n" not in subject

    def test_text_is_plain_and_html_is_a_whole_inline_styled_document(
        self, renderer: MailRenderer, kind: MailKind
    ) -> None:
        mail = renderer.render(complete_mail(kind))
        assert "<" not in mail.text
        assert mail.html.startswith("<!DOCTYPE html>")
        assert mail.html.rstrip().endswith("</html>")
        assert f"<title>{mail.subject}</title>" in mail.html
        # mail clients drop <style> blocks and external sheets
        assert 'style="' in mail.html
        assert "<style" not in mail.html
        assert "<link" not in mail.html

    def test_no_six_digit_number_but_the_code(self, renderer: MailRenderer, kind: MailKind) -> None:
        """Tests and people read the code as the six-digit number in the mail: there must be no other."""
        mail = renderer.render(complete_mail(kind))
        expected = [CODE] if kind in CODE_KINDS else []
        assert re.findall(r"\b\d{6}\b", mail.text) == expected
        assert re.findall(r"\b\d{6}\b", mail.html) == expected


@pytest.mark.parametrize("kind", CODE_KINDS)
class TestCodeMails:
    def test_show_the_code_in_the_bodies_but_never_in_the_subject(self, renderer: MailRenderer, kind: MailKind) -> None:
        mail = renderer.render(complete_mail(kind))
        assert CODE in mail.text
        assert CODE in mail.html
        assert CODE not in mail.subject

    @pytest.mark.parametrize(
        ("seconds", "words"),
        [(600, "10 minutes"), (60, "1 minute"), (90, "90 seconds"), (3600, "1 hour"), (7200, "2 hours")],
    )
    def test_say_how_long_the_code_lasts_and_that_it_works_once(
        self, renderer: MailRenderer, kind: MailKind, seconds: int, words: str
    ) -> None:
        mail = renderer.render(complete_mail(kind, lifetime_seconds=seconds))
        assert f"valid for {words} and works once" in flat(mail.text)
        assert f"valid for {words} and works once" in flat(mail.html)

    def test_say_what_to_do_if_you_did_not_ask(self, renderer: MailRenderer, kind: MailKind) -> None:
        expected = {
            MailKind.VERIFY_EMAIL: "If you did not sign up for Acme, someone may have typed your address by mistake. "
            "You can ignore this message",
            MailKind.RESET_PASSWORD: "If you did not ask for this, your password is unchanged; "
            "you can ignore this message.",
            MailKind.CHANGE_EMAIL: "If you did not ask for this, someone signed in to Acme asked to use this address "
            "for their account. Ignore this message and nothing changes.",
            MailKind.SIGN_IN_CODE: "If you did not ask for this, you can ignore this message: without the code, "
            "nobody signs in.",
            MailKind.CONFIRM_PROVIDER_EMAIL: "If it was not you, you can ignore this message: without the code, "
            "this address is not used.",
        }[kind]
        mail = renderer.render(complete_mail(kind))
        assert expected in flat(mail.text)
        assert expected in flat(mail.html)

    def test_without_a_code_fail_instead_of_sending_a_blank(self, renderer: MailRenderer, kind: MailKind) -> None:
        with pytest.raises(UndefinedError, match="'code' is undefined"):
            renderer.render(
                OutgoingMail(to=TO, kind=kind, product=PRODUCT, code_lifetime_seconds=600, provider=PROVIDER)
            )

    def test_without_a_lifetime_fail_instead_of_sending_a_blank(self, renderer: MailRenderer, kind: MailKind) -> None:
        with pytest.raises(UndefinedError, match="'code_lifetime_seconds' is undefined"):
            renderer.render(OutgoingMail(to=TO, kind=kind, product=PRODUCT, code=CODE, provider=PROVIDER))

    def test_with_a_lifetime_of_zero_fail(self, renderer: MailRenderer, kind: MailKind) -> None:
        with pytest.raises(ValueError, match="positive"):
            renderer.render(complete_mail(kind, lifetime_seconds=0))


class TestNotices:
    def test_already_registered_says_you_have_an_account_and_what_to_do(self, renderer: MailRenderer) -> None:
        mail = renderer.render(complete_mail(MailKind.ALREADY_REGISTERED))
        for body in (flat(mail.text), flat(mail.html)):
            assert "tried to create a new Acme account with this address, but you already have one." in body
            assert "simply sign in" in body
            assert "reset it" in body
            assert "If it was not you, you can ignore this message: nothing has changed." in body

    def test_password_changed_says_other_sessions_were_signed_out_and_to_reset_if_not_you(
        self, renderer: MailRenderer
    ) -> None:
        mail = renderer.render(complete_mail(MailKind.PASSWORD_CHANGED))
        assert "password was changed" in mail.subject
        for body in (flat(mail.text), flat(mail.html)):
            assert "The password of your Acme account was just changed." in body
            assert "Every other device signed in to it was signed out" in body
            assert "reset your password now" in body

    def test_email_changed_names_the_new_address_and_says_this_one_no_longer_signs_in(
        self, renderer: MailRenderer
    ) -> None:
        mail = renderer.render(complete_mail(MailKind.EMAIL_CHANGED))
        for body in (flat(mail.text), flat(mail.html)):
            assert NEW_EMAIL in body
            assert "this one no longer signs in" in body
            assert "contact Acme support right away" in body

    def test_email_changed_without_the_new_address_fails(self, renderer: MailRenderer) -> None:
        with pytest.raises(UndefinedError, match="'new_email' is undefined"):
            renderer.render(OutgoingMail(to=TO, kind=MailKind.EMAIL_CHANGED, product=PRODUCT))

    @pytest.mark.parametrize("kind", NOTICE_KINDS)
    def test_every_security_notice_says_when_from_where_and_what_if_not_you(
        self, renderer: MailRenderer, kind: MailKind
    ) -> None:
        mail = renderer.render(complete_mail(kind))
        for body in (flat(mail.text), flat(mail.html)):
            assert "2026-11-29 23:04 UTC" in body
            assert "Firefox on Windows, from the address 198.51.100.7" in body
            assert "If it was not you" in body

    def test_a_reset_says_so_and_that_the_mailbox_may_be_read(self, renderer: MailRenderer) -> None:
        mail = renderer.render(notice_variants()["password reset"])
        for body in (flat(mail.text), flat(mail.html)):
            assert "was just reset with a code sent to this address" in body
            assert "someone can read your mail" in body
            assert "was just changed" not in body

    def test_an_operators_removal_says_who_not_where(self, renderer: MailRenderer) -> None:
        mail = renderer.render(notice_variants()["factors removed by an operator"])
        for body in (flat(mail.text), flat(mail.html)):
            assert "2026-11-29 23:04 UTC" in body
            assert "How: by Acme support, with an operator's command (not from a browser)" in body
            assert "from the address" not in body
            assert "If you did not ask for it, someone may have posed as you" in body

    def test_the_new_address_hears_which_one_it_replaces(self, renderer: MailRenderer) -> None:
        mail = renderer.render(notice_variants()["e-mail changed, to the new address"])
        for body in (flat(mail.text), flat(mail.html)):
            assert "now signs in with this address, instead of:" in body
            assert OLD_EMAIL in body
            assert "someone who can read this mailbox confirmed the change" in body

    def test_a_notice_queued_before_it_said_when_still_renders(self, renderer: MailRenderer) -> None:
        mail = renderer.render(OutgoingMail(to=TO, kind=MailKind.PASSKEY_ADDED, product=PRODUCT))
        assert "When:" not in mail.text
        assert "If it was not you" in mail.text

    def test_notices_carry_no_code(self, renderer: MailRenderer) -> None:
        for kind in (MailKind.ALREADY_REGISTERED, MailKind.PASSWORD_CHANGED, MailKind.EMAIL_CHANGED):
            mail = renderer.render(complete_mail(kind))
            assert "code" not in mail.text.lower()


class TestEscaping:
    @pytest.fixture
    def rendered(self, renderer: MailRenderer) -> RenderedMail:
        return renderer.render(complete_mail(MailKind.VERIFY_EMAIL, product="Acme <b>"))

    def test_html_escapes_the_product(self, rendered: RenderedMail) -> None:
        assert "Acme &lt;b&gt;" in rendered.html
        assert "<b>" not in rendered.html

    def test_text_and_subject_keep_it_as_it_is(self, rendered: RenderedMail) -> None:
        assert "Welcome to Acme <b>!" in rendered.text
        assert "&lt;" not in rendered.text
        assert rendered.subject == "Your Acme <b> verification code"

    def test_html_escapes_the_new_address(self, renderer: MailRenderer) -> None:
        mail = renderer.render(messages.email_changed(TO, PRODUCT, "o'hara&co@example.com", at=AT, client=CLIENT))
        assert "o&#39;hara&amp;co@example.com" in mail.html
        assert "o'hara&co@example.com" in mail.text


class TestMissingTemplate:
    def test_a_kind_without_its_html_template_fails_loudly(self) -> None:
        kind = MailKind.PASSWORD_CHANGED
        renderer = MailRenderer(DictLoader({f"{kind}.subject.txt": "Changed", f"{kind}.txt": "Your password changed."}))
        with pytest.raises(TemplateNotFound, match=r"password_changed\.html"):
            renderer.render(complete_mail(kind))


class TestSignInLink:
    def test_a_sign_in_code_carries_the_link_whole_when_the_gateway_has_one(self, renderer: MailRenderer) -> None:
        mail = renderer.render(complete_mail(MailKind.SIGN_IN_CODE))
        assert f"\n    {SIGN_IN_LINK}\n" in mail.text  # on a line of its own, never wrapped
        assert f'<a href="{SIGN_IN_LINK}">{SIGN_IN_LINK}</a>' in mail.html

    def test_without_one_it_says_nothing_of_a_link(self, renderer: MailRenderer) -> None:
        mail = renderer.render(messages.code(TO, MailKind.SIGN_IN_CODE, PRODUCT, CODE, 600))
        assert "link" not in mail.text
        assert "<a " not in mail.html
