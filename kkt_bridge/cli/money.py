"""Sums and VAT rates as people type them on the command line: roubles in, kopecks out.

``kkt-bridge goods`` and ``kkt-bridge emulator sell`` read prices the same way.
"""

from __future__ import annotations

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _
from kkt_bridge.money import parse_rubles, rubles_hint

#: VAT as people write it -> tag 1199
VAT_NAMES = {"20": 1, "10": 2, "20/120": 3, "10/110": 4, "0": 5, "none": 6}
#: the largest sum a register's money fields take (5 bytes of kopecks, rounded down)
MAX_KOPECKS = 10**12


def rubles(text: str, what: str) -> int:
    """Kopecks from roubles written as ``49.90`` or ``49,90`` (``1 200`` too)."""
    value = parse_rubles(text)
    if value is None or value > MAX_KOPECKS:
        raise ConfigError(_("{what}: «{text}» — не сумма в рублях").format(what=what, text=text),
                          rubles_hint(text, MAX_KOPECKS))
    return value


def vat_code(text: str) -> int:
    """Tag 1199 from ``20``, ``10``, ``20/120``, ``10/110``, ``0`` or ``none`` (``20%``
    too: a rate is written with its percent sign as often as without)."""
    code = VAT_NAMES.get(text.strip().lower().removesuffix("%").strip())
    if code is None:
        raise ConfigError(_("ставка НДС «{vat}» неизвестна").format(vat=text),
                          _("допустимые: {names}").format(names=", ".join(VAT_NAMES)))
    return code


def vat_label(code: int) -> str:
    """How :func:`vat_code` spells tag 1199 ``code``."""
    return next((name for name, value in VAT_NAMES.items() if value == code), str(code))
