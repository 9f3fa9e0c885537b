"""The mail's message catalogs: ``mail/locales/LANG/LC_MESSAGES/messages.po``, compiled when loaded.

English is the language the templates are written in: it has no catalog. Every other
language ships as a ``.po`` file only; it is compiled in memory at start (no build step, no
``.mo`` file to forget), and a fuzzy or empty entry is left out, so it reads in English
rather than wrongly.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SOURCE_LOCALE = "en"


def catalog_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def shipped_locales() -> tuple[str, ...]:
    """Every language mails are written in: English first, then each catalog's, sorted."""
    found = sorted(path.parent.parent.name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LOCALE, *(locale for locale in found if locale != SOURCE_LOCALE))


def load_translations(locale: str) -> NullTranslations:
    """``locale``'s compiled catalog; English (the templates' own words) needs none."""
    if locale == SOURCE_LOCALE:
        return NullTranslations()
    with catalog_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
