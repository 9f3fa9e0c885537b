"""Turns the domain's ``OutgoingMail`` into what a person reads: a subject, a text and an HTML body.

Every kind of mail has three templates in ``mail/templates``: ``KIND.subject.txt``,
``KIND.txt`` and ``KIND.html``. HTML templates are autoescaped; text ones are not.
Undefined values fail loudly (``StrictUndefined``): a code mail without its code
raises instead of sending a blank.

The words are English in the templates, inside ``_()`` and ``ngettext()``; each mail is
rendered in its ``locale`` from the catalogs of ``mail.catalogs`` (one Jinja environment per
language), or in the renderer's default language when it names none that ships.
"""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from babel.units import format_unit
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mail.catalogs import SOURCE_LOCALE, load_translations, shipped_locales

if TYPE_CHECKING:
    from jinja2 import BaseLoader, Template

    from domain.entities import MailKind, OutgoingMail

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


class MailTemplates(NamedTuple):
    """The three templates of one kind of mail."""

    subject: Template
    text: Template
    html: Template


TEXT_WIDTH = 72


def lifetime_in_words(seconds: int, locale: str = SOURCE_LOCALE) -> str:
    """How long a code lasts, as a person says it in ``locale``: "1 hour", "10 Minuten", "90 secondes"."""
    if seconds <= 0:
        raise ValueError(f"a code lifetime must be positive, not {seconds}")
    for unit, length in (("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % length == 0:
            return str(format_unit(seconds // length, f"duration-{unit}", length="long", locale=locale))
    raise AssertionError("unreachable: every whole number of seconds divides by 1")


def wrapped(text: str) -> str:
    """A plain-text body with each paragraph (one line from the catalog) wrapped at ``TEXT_WIDTH``;
    indented lines (a code, an address) are left whole."""
    lines = text.split("\n")
    return "\n".join(
        line
        if line.startswith(" ") or len(line) <= TEXT_WIDTH
        else textwrap.fill(line, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False)
        for line in lines
    )


class MailRenderer:
    """Renders each ``MailKind`` from its templates in the mail's language; build one and reuse it
    (catalogs are compiled and templates cached once).

    ``default_locale`` (DEFAULT_LOCALE) is used for a mail whose ``locale`` is None or no longer
    ships; it must be one of ``locales`` (by default every shipped catalog).
    """

    def __init__(
        self,
        loader: BaseLoader | None = None,
        default_locale: str = SOURCE_LOCALE,
        locales: tuple[str, ...] | None = None,
    ) -> None:
        self.locales = shipped_locales() if locales is None else locales
        if default_locale not in self.locales:
            raise ValueError(f"the default mail language {default_locale!r} is not one of {', '.join(self.locales)}")
        self.default_locale = default_locale
        loader = loader or FileSystemLoader(TEMPLATES_DIR)
        self._environments = {locale: self._environment(loader, locale) for locale in self.locales}

    @staticmethod
    def _environment(loader: BaseLoader, locale: str) -> Environment:
        environment = Environment(
            loader=loader,
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
            extensions=["jinja2.ext.i18n"],
        )
        environment.install_gettext_translations(load_translations(locale), newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
        environment.filters["lifetime"] = lambda seconds: lifetime_in_words(seconds, locale)
        return environment

    def templates(self, kind: MailKind, locale: str | None = None) -> MailTemplates:
        """``kind``'s three templates in ``locale``; raises ``jinja2.TemplateNotFound`` if one is missing."""
        get = self._environments.get(
            locale or self.default_locale, self._environments[self.default_locale]
        ).get_template
        return MailTemplates(get(f"{kind.value}.subject.txt"), get(f"{kind.value}.txt"), get(f"{kind.value}.html"))

    def render(self, mail: OutgoingMail) -> RenderedMail:
        """Raises ``jinja2.TemplateNotFound`` or ``jinja2.UndefinedError`` rather than send an incomplete mail."""
        locale = mail.locale if mail.locale in self._environments else self.default_locale
        templates = self.templates(mail.kind, locale)
        # a field left as None is absent, so StrictUndefined catches a template that needs it
        values: dict[str, Any] = {
            field.name: value for field in dataclasses.fields(mail) if (value := getattr(mail, field.name)) is not None
        }
        # one line whatever the template's whitespace: a header cannot hold a line break
        subject = " ".join(templates.subject.render(values).split())
        values["subject"] = subject
        values["locale"] = locale
        return RenderedMail(
            subject=subject, text=wrapped(templates.text.render(values)), html=templates.html.render(values)
        )


default_renderer = MailRenderer()
