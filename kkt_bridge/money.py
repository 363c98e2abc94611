"""Sums as people type them and read them: roubles with kopecks in, kopecks kept (the project
keeps money in kopecks). The command line and the page read prices the same way."""

from __future__ import annotations


def parse_rubles(text: str) -> int | None:
    """Kopecks from «45», «45,5», «45.50», «1 200,00»; None when it is not a sum."""
    value = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if value.count(".") > 1 or not value:
        return None
    whole, _dot, part = value.partition(".")
    if not whole.isdigit() or (part and (not part.isdigit() or len(part) > 2)):
        return None
    return int(whole) * 100 + int((part + "00")[:2])


def rubles_text(kopecks: int) -> str:
    """``4990`` -> ``49.90``."""
    rubles, rest = divmod(kopecks, 100)
    return f"{rubles}.{rest:02d}"
