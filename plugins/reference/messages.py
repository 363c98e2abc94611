"""The back office's messages in the language of each request (``Accept-Language``:
Russian by default, English on request), so a bridge run with ``--lang en`` shows the
server's messages in English too. The active language is a context variable: requests
served at once in one process do not see each other's."""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache

from kkt_bridge.i18n import PoTranslations, load_catalog

SUPPORTED = ("ru", "en")
_language: ContextVar[str] = ContextVar("backoffice_language", default="ru")


@cache
def _catalog(language: str) -> PoTranslations:
    return PoTranslations(load_catalog(language))


def _(message: str) -> str:
    """A Russian message in the current request's language."""
    language = _language.get()
    return message if language == "ru" else _catalog(language).gettext(message)


def choose(accept_language: str | None) -> str:
    """The best supported language of an ``Accept-Language`` header (RFC 9110 q-values)."""
    best, best_q = "ru", -1.0
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _sep, params = item.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if not 0.0 < q <= 1.0:
            continue
        if primary in SUPPORTED and q - position * 1e-6 > best_q:
            best, best_q = primary, q - position * 1e-6
    return best


def use(language: str) -> None:
    _language.set(language)


def current() -> str:
    return _language.get()
