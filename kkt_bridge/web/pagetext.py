"""The page's language: which one a request gets, its messages, dates and money.

Russian is the source language (the seed's words are the msgids); English comes from the
same gettext catalogs as the CLI (:mod:`kkt_bridge.i18n`), looked up per request, so two
pages in two languages can be open on one daemon at once. A request's language is its
``lang`` cookie (set by the switch on the page), else the browser's Accept-Language, else
Russian.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from kkt_bridge.i18n import SUPPORTED, load_catalog, negotiate
from kkt_bridge.money import format_rubles, parse_rubles, rubles_text

LANG_COOKIE = "kkt_lang"
#: the switch on the page: each language named in itself
LANGUAGE_NAMES = (("ru", "Русский"), ("en", "English"))

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")


@functools.cache
def _catalog(language: str) -> Mapping[str, str]:
    return {} if language == "ru" else load_catalog(language)


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in SUPPORTED:
        assert cookie is not None
        return cookie
    return negotiate(accept_language)


@dataclass(frozen=True)
class PageText:
    """Messages, dates and sums in one language."""

    language: str

    def gettext(self, message: str) -> str:
        """The message in this language; an untranslated one stays Russian, never empty."""
        return _catalog(self.language).get(message) or message

    __call__ = gettext

    def when(self, value: float | str | datetime | None) -> str:
        """A moment in the POS computer's local time: «06.12.2026 17:40» / «6 Dec 2026, 17:40»."""
        moment = _as_datetime(value)
        if moment is None:
            return "—"
        if self.language == "en":
            return (f"{moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}, "
                    f"{moment:%H:%M}")
        return f"{moment:%d.%m.%Y %H:%M}"

    def day(self, value: float | str | date | datetime | None) -> str:
        """A date: «06.12.2026» / «6 Dec 2026»."""
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        else:
            moment = _as_datetime(value)
            if moment is None:
                return "—"
            day = moment.date()
        if self.language == "en":
            return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
        return f"{day:%d.%m.%Y}"

    def money(self, kopecks: int | None) -> str:
        """«45,00 ₽» / «RUB 45.00»: the one formatter of sums for people, in this page's
        language."""
        return "—" if kopecks is None else format_rubles(kopecks, self.language)


def money_input(kopecks: int | None) -> str:
    """A sum as the price field shows it for editing: «45.00»."""
    return "" if kopecks is None else rubles_text(kopecks)


#: kopecks from what a person typed in a price field, or None (one parser for every shell)
parse_money = parse_rubles


def _as_datetime(value: float | str | date | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment
