"""Translations: Russian is the source language, English is a gettext catalog.

The seed's words («Подключить ККТ», «Соединение установлено» ...) are the msgids,
so the Russian UI needs no catalog and cannot drift from the help page. English comes from
the catalogs in ``locale/en/LC_MESSAGES/``: ``kkt_bridge.po`` plus one file per area
(``web.po``, ``atol.po`` ...), merged, so that work on different areas never edits the same
file. The .po files are read with Babel when a language is first used, so a translator edits
text and no compile step can be forgotten.

Texts whose source is English (click's «Usage:», «Missing option» ...) go the other way:
``locale/ru/LC_MESSAGES/*.po`` translates them into Russian (:func:`gettext_foreign`).

The language is per context: :func:`set_language` sets the process default (the CLI's
``--lang``, or ``KKT_BRIDGE_LANG``), and :func:`using_language` overrides it for one scope,
such as one web request, without touching concurrent requests (a :class:`ContextVar`).
"""

from __future__ import annotations

import gettext
import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

DOMAIN = "kkt_bridge"
LOCALE_DIR = Path(__file__).with_name("locale")
SOURCE = "ru"
SUPPORTED = ("ru", "en")

_default = SOURCE
_scoped: ContextVar[str | None] = ContextVar("kkt_bridge_language", default=None)
_loaded: dict[str, gettext.NullTranslations] = {}
_loading = threading.Lock()


def catalog_files(language: str) -> list[Path]:
    """The .po files of ``language``: the main catalog first, then the areas' by name."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda path: (path.stem != DOMAIN, path.name))


def _read(text: str, language: str | None = None) -> Catalog:
    from babel.messages.pofile import read_po

    return read_po(io.StringIO(text), locale=language)


def parse_po(text: str) -> dict[str, str]:
    """The translated msgid -> msgstr pairs of one .po text (a plural entry by its
    singular form); untranslated and fuzzy entries are left out, as the UI leaves them."""
    catalog: dict[str, str] = {}
    for message in _read(text):
        if not message.id or not message.string or message.fuzzy:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        msgstr = message.string if isinstance(message.string, str) else message.string[0]
        if msgstr:
            catalog[msgid] = msgstr
    return catalog


def load_catalog(language: str) -> dict[str, str]:
    """Every translated message of ``language``, all its .po files merged."""
    catalog: dict[str, str] = {}
    for po in catalog_files(language):
        catalog.update(parse_po(po.read_text(encoding="utf-8")))
    return catalog


def _compile(language: str) -> gettext.NullTranslations:
    """One gettext object over all the .po files of ``language`` (plurals included),
    compiled in memory: the files stay the only thing a translator edits."""
    files = catalog_files(language)
    if not files:
        return gettext.NullTranslations()
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    merged = Catalog(locale=language, domain=DOMAIN)
    for po in files:
        for message in _read(po.read_text(encoding="utf-8"), language):
            if message.id:
                merged[message.id] = message
    compiled = io.BytesIO()
    write_mo(compiled, merged)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _translations(language: str) -> gettext.NullTranslations:
    found = _loaded.get(language)
    if found is None:
        with _loading:
            found = _loaded.get(language)
            if found is None:
                found = _loaded[language] = _compile(language)
    return found


def _supported(language: str | None) -> str:
    chosen = (language or "").replace("-", "_").split("_")[0].lower()
    return chosen if chosen in SUPPORTED else SOURCE


def set_language(language: str | None) -> str:
    """Set the process's default UI language (``None``: ``KKT_BRIDGE_LANG``, else
    Russian); unknown languages fall back to Russian. A switch to another language reads
    the catalogs again, so an edited .po shows on the next switch."""
    global _default
    chosen = _supported(language or os.environ.get("KKT_BRIDGE_LANG"))
    if chosen != _default:
        with _loading:
            _loaded.clear()
    _default = chosen
    return chosen


@contextmanager
def using_language(language: str | None) -> Iterator[str]:
    """Use ``language`` within this block only (this thread or task; others keep theirs):
    one web request in English while the next is answered in Russian."""
    chosen = _supported(language) if language else _default
    token = _scoped.set(chosen)
    try:
        yield chosen
    finally:
        _scoped.reset(token)


def use_language(language: str | None) -> str:
    """Use ``language`` for the rest of the current context: an ASGI request runs in a
    context of its own (copied into its worker threads), so a middleware sets it once per
    request and nothing needs restoring."""
    chosen = _supported(language) if language else _default
    _scoped.set(chosen)
    return chosen


def language() -> str:
    """The UI language in effect here: the scope's, else the process default."""
    return _scoped.get() or _default


def _(message: str) -> str:
    """Translate a Russian message into the UI language in effect."""
    current = language()
    if current == SOURCE:
        return message
    return _translations(current).gettext(message)


def gettext_foreign(message: str) -> str:
    """Translate a message whose source is English (a library's, such as click's) into
    the UI language in effect."""
    return _translations(language()).gettext(message)


def ngettext_foreign(singular: str, plural: str, count: int) -> str:
    """:func:`gettext_foreign` for a message with plural forms."""
    return _translations(language()).ngettext(singular, plural, count)


def negotiate(header: str | None) -> str:
    """The supported language an HTTP ``Accept-Language`` header prefers most: the highest
    quality wins, the header's order breaks ties; Russian when nothing supported is asked
    for (``*`` included) or the header is malformed."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((header or "").split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _sep, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary not in SUPPORTED or not 0 < quality <= 1:
            continue
        candidate = (-quality, position, primary)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else SOURCE


set_language(None)
