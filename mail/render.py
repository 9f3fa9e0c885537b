"""Turns the domain's ``OutgoingMail`` into what a person reads: a subject, a text and an HTML body.

Every kind of mail has three templates in ``mail/templates``: ``KIND.subject.txt``,
``KIND.txt`` and ``KIND.html``. HTML templates are autoescaped; text ones are not.
Undefined values fail loudly (``StrictUndefined``): a code mail without its code
raises instead of sending a blank.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

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


def lifetime_in_words(seconds: int) -> str:
    """How long a code lasts, as a person says it: "1 hour", "10 minutes", "90 seconds"."""
    if seconds <= 0:
        raise ValueError(f"a code lifetime must be positive, not {seconds}")
    for unit, length in (("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % length == 0:
            count = seconds // length
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    raise AssertionError("unreachable: every whole number of seconds divides by 1")


class MailRenderer:
    """Renders each ``MailKind`` from its templates; build one and reuse it (templates are cached)."""

    def __init__(self, loader: BaseLoader | None = None) -> None:
        self._environment = Environment(
            loader=loader or FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self._environment.filters["lifetime"] = lifetime_in_words

    def templates(self, kind: MailKind) -> MailTemplates:
        """``kind``'s three templates; raises ``jinja2.TemplateNotFound`` if one is missing."""
        get = self._environment.get_template
        return MailTemplates(get(f"{kind.value}.subject.txt"), get(f"{kind.value}.txt"), get(f"{kind.value}.html"))

    def render(self, mail: OutgoingMail) -> RenderedMail:
        """Raises ``jinja2.TemplateNotFound`` or ``jinja2.UndefinedError`` rather than send an incomplete mail."""
        templates = self.templates(mail.kind)
        # a field left as None is absent, so StrictUndefined catches a template that needs it
        values: dict[str, Any] = {
            field.name: value for field in dataclasses.fields(mail) if (value := getattr(mail, field.name)) is not None
        }
        # one line whatever the template's whitespace: a header cannot hold a line break
        subject = " ".join(templates.subject.render(values).split())
        values["subject"] = subject
        return RenderedMail(subject=subject, text=templates.text.render(values), html=templates.html.render(values))


default_renderer = MailRenderer()
