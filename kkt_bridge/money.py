"""Sums as people type them and read them: roubles with kopecks in, kopecks kept (the project
keeps money in kopecks). The command line and the page read prices the same way."""

from __future__ import annotations

from kkt_bridge.i18n import _


def parse_rubles(text: str) -> int | None:
    """Kopecks from «45», «45,5», «45.50», «1 200,00»; None when it is not a sum."""
    value = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
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
    value = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    whole, _dot, part = value.lstrip("-").partition(".")
    number = whole.isdigit() and (not part or part.isdigit()) and value.count(".") <= 1
    if number and value.startswith("-"):
        return _("сумма не может быть отрицательной: укажите её без минуса")
    if number and len(part) > 2:
        return _("копеек — не больше двух знаков после запятой: например 12.34 или 12,34")
    parsed = parse_rubles(text)
    if parsed is not None and maximum is not None and parsed > maximum:
        return _("сумма больше наибольшей, которую принимает ККТ ({limit} ₽)").format(
            limit=rubles_text(maximum))
    return _("пишите рубли с копейками через точку или запятую: 49.90 или 49,90")


def rubles_text(kopecks: int) -> str:
    """``4990`` -> ``49.90``."""
    rubles, rest = divmod(kopecks, 100)
    return f"{rubles}.{rest:02d}"
