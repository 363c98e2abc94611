"""Translations: Russian is the source language, English is a gettext catalog.

The seed's words («Подключить ККТ», «Соединение установлено» ...) are the msgids,
so the Russian UI needs no catalog and cannot drift from the help page. ``set_language("en")``
(the CLI's ``--lang en``, or ``KKT_BRIDGE_LANG=en``) switches to
the catalogs in ``locale/en/LC_MESSAGES/``: ``kkt_bridge.po`` plus one file per area
(``web.po``, ``atol.po`` ...), merged, so that work on different areas never edits the same
file. The .po files are read directly, so a translator edits text and no compile step can be
forgotten.
"""

from __future__ import annotations

import ast
import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

DOMAIN = "kkt_bridge"
LOCALE_DIR = Path(__file__).with_name("locale")
SUPPORTED = ("ru", "en")


class PoTranslations(gettext.NullTranslations):
    """A gettext translation object backed by a parsed .po file."""

    def __init__(self, catalog: dict[str, str]) -> None:
        super().__init__()
        self._catalog = catalog

    def gettext(self, message: str) -> str:
        return self._catalog.get(message) or message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.gettext(msgid1 if n == 1 else msgid2)


def parse_po(text: str) -> dict[str, str]:
    """Parse the msgid/msgstr pairs of a .po file (no plurals, no contexts)."""
    catalog: dict[str, str] = {}
    key: str | None = None
    current: list[str] = []
    msgid = ""

    def flush() -> None:
        nonlocal msgid
        if key == "msgid":
            msgid = "".join(current)
        elif key == "msgstr" and msgid:
            catalog[msgid] = "".join(current)

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("msgid ", "msgstr ")):
            flush()
            key, _, rest = line.partition(" ")
            current = [ast.literal_eval(rest)]
        elif line.startswith('"'):
            current.append(ast.literal_eval(line))
    flush()
    return catalog


def catalog_files(language: str) -> list[Path]:
    """The .po files of ``language``: the main catalog first, then the areas' by name."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda path: (path.stem != DOMAIN, path.name))


def load_catalog(language: str) -> dict[str, str]:
    catalog: dict[str, str] = {}
    for po in catalog_files(language):
        catalog.update(parse_po(po.read_text(encoding="utf-8")))
    return catalog


_active: gettext.NullTranslations = gettext.NullTranslations()
_language = "ru"


def set_language(language: str | None) -> str:
    """Switch the UI language; unknown languages fall back to Russian."""
    global _active, _language
    language = (language or os.environ.get("KKT_BRIDGE_LANG") or "ru").split("_")[0].lower()
    if language not in SUPPORTED:
        language = "ru"
    if language == "ru":
        _active = gettext.NullTranslations()
    else:
        _active = PoTranslations(load_catalog(language))
    _language = language
    return language


#: a request's own language (the local server's), ahead of the process-wide one
_request_language: ContextVar[tuple[str, gettext.NullTranslations] | None] = ContextVar(
    "kkt_bridge_request_language", default=None)
_loaded: dict[str, gettext.NullTranslations] = {}


@contextmanager
def using(language: str | None) -> Iterator[str]:
    """Within the block (this thread or task, and what it copies its context to), ``_()``
    translates into ``language``; unknown languages fall back to Russian."""
    chosen = (language or "ru").split("_")[0].split("-")[0].lower()
    if chosen not in SUPPORTED:
        chosen = "ru"
    if chosen not in _loaded:
        _loaded[chosen] = (gettext.NullTranslations() if chosen == "ru"
                           else PoTranslations(load_catalog(chosen)))
    token = _request_language.set((chosen, _loaded[chosen]))
    try:
        yield chosen
    finally:
        _request_language.reset(token)


def language() -> str:
    request = _request_language.get()
    return request[0] if request is not None else _language


def _(message: str) -> str:
    """Translate a Russian message into the active UI language."""
    request = _request_language.get()
    return (request[1] if request is not None else _active).gettext(message)


set_language(None)
