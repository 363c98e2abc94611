"""Sums as people type them and read them: roubles with kopecks in, kopecks kept (the project
keeps money in kopecks). The command line and the page read prices the same way, and every
sum a person reads (CLI, pages, demo) is written by :func:`format_rubles`; machine outputs
(JSON, exports) keep integers of kopecks and never pass through here."""

from __future__ import annotations

import re

from kkt_bridge.i18n import _, language

#: spaces people (and :func:`format_rubles`) put between digit groups: plain, no-break,
#: narrow no-break and thin
_SPACES = ("\u00a0", "\u202f", "\u2009", " ")
#: the currency as it is written around a sum; stripped so that a sum copied from a page
#: or the terminal reads back
_CURRENCY = re.compile(r"^(?:RUB)?(.*?)(?:₽|руб\.?|RUB)?$", re.IGNORECASE)
#: English grouping: «1,234.50»; only taken when a decimal point follows, since «12,345»
#: alone is a Russian decimal comma with one digit too many (see :func:`rubles_hint`)
_ENGLISH_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+\.\d{1,2}")


def _normalized(text: str) -> str:
    value = text.strip()
    for space in _SPACES:
        value = value.replace(space, "")
    matched = _CURRENCY.fullmatch(value)
    value = matched.group(1) if matched else value
    if _ENGLISH_GROUPED.fullmatch(value):
        value = value.replace(",", "")
    return value.replace(",", ".")


def parse_rubles(text: str) -> int | None:
    """Kopecks from «45», «45,5», «45.50», «1 200,00», and from what :func:`format_rubles`
    prints («1 234,50 ₽», «RUB 1,234.50»); None when it is not a sum."""
    value = _normalized(text)
    if value.count(".") > 1 or not value:
        return None
    whole, _dot, part = value.partition(".")
    if not whole.isdigit() or (part and (not part.isdigit() or len(part) > 2)):
        return None
    return int(whole) * 100 + int((part + "00")[:2])


def rubles_hint(text: str, maximum: int | None = None) -> str:
    """What to do about ``text`` that :func:`parse_rubles` did not take (or that is over
    ``maximum`` kopecks), in the UI language: the reason it was refused, not a general
    rule the user may already follow (``12,345`` is written «through a comma» correctly)."""
    value = _normalized(text)
    whole, _dot, part = value.lstrip("-").partition(".")
    number = whole.isdigit() and (not part or part.isdigit()) and value.count(".") <= 1
    if number and value.startswith("-"):
        return _("сумма не может быть отрицательной: укажите её без минуса")
    if number and len(part) > 2:
        return _("копеек — не больше двух знаков после запятой: например 12.34 или 12,34")
    parsed = parse_rubles(text)
    if parsed is not None and maximum is not None and parsed > maximum:
        return _("сумма больше наибольшей, которую принимает ККТ ({limit})").format(
            limit=format_rubles(maximum))
    return _("пишите рубли с копейками через точку или запятую: 49.90 или 49,90")


def rubles_text(kopecks: int) -> str:
    """``4990`` -> ``49.90``: the plain form for an input field to edit, not for reading."""
    rubles, rest = divmod(kopecks, 100)
    return f"{rubles}.{rest:02d}"


def format_rubles(kopecks: int, lang: str | None = None) -> str:
    """A sum for a person to read, in ``lang`` (default: the UI language in effect).

    Russian: «1 234,50 ₽», digits grouped by a no-break space (Russian typography groups
    thousands by a space, and a no-break one keeps the sum on one line) and the sign after
    the number. English: «RUB 1,234.50». The ISO code rather than «₽» because English
    readers know the code, the rouble sign is missing from some terminal and console fonts,
    and the English pages already label price fields «Price, RUB». Negative sums (refunds)
    keep their minus in front of the digits.
    """
    sign = "-" if kopecks < 0 else ""
    rubles, rest = divmod(abs(kopecks), 100)
    if (lang or language()) == "en":
        return f"RUB {sign}{rubles:,}.{rest:02d}"
    grouped = f"{rubles:,}".replace(",", "\u00a0")
    return f"{sign}{grouped},{rest:02d}\u00a0₽"
