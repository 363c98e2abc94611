"""The fixed list of exchange periods from the seed's drop-down, «Никогда» first."""

from __future__ import annotations

import re

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _

NEVER = 0

#: seconds -> the seed's label; the only periods goods and employees may take
PERIODS: dict[int, str] = {
    NEVER: "Никогда",
    5 * 60: "5 мин",
    15 * 60: "15 мин",
    30 * 60: "30 мин",
    3600: "1 ч",
    3 * 3600: "3 ч",
    6 * 3600: "6 ч",
    12 * 3600: "12 ч",
    24 * 3600: "24 ч",
}

_UNITS = {"мин": 60, "min": 60, "m": 60, "ч": 3600, "h": 3600, "час": 3600}
_NEVER_WORDS = {"никогда", "never", "off", "0"}


def period_label(seconds: int) -> str:
    """The label in the UI language («Никогда», «5 мин» ...)."""
    return _(PERIODS.get(seconds, f"{seconds} с"))


def parse_period(text: str) -> int:
    """Seconds for a label: «15 мин», "15min", "15m", «1 ч», "1h", «Никогда», "never"."""
    value = text.strip().lower()
    if value in _NEVER_WORDS:
        return NEVER
    match = re.fullmatch(r"(\d+)\s*([a-zа-я]+)", value)
    if match and match.group(2) in _UNITS:
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
        if seconds in PERIODS:
            return seconds
    raise ConfigError(
        _("период «{value}» не из списка").format(value=text),
        _("выберите один из: {choices}").format(
            choices=", ".join(_(label) for label in PERIODS.values())),
    )
