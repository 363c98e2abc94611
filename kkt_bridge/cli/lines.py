"""Results as terminal lines: Russian words, never a phrase broken across lines."""

from __future__ import annotations

import textwrap

from kkt_bridge.bridge.actions import ExchangeResult
from kkt_bridge.i18n import _

WIDTH = 78


def wrap_phrases(phrases: list[str], *, indent: str = "    ", width: int = WIDTH) -> list[str]:
    """Phrases packed into lines of at most ``width`` columns, never broken inside one."""
    lines: list[str] = []
    line = ""
    for phrase in phrases:
        candidate = f"{line}, {phrase}" if line else indent + phrase
        if line and len(candidate) > width:
            lines.append(line + ",")
            candidate = indent + phrase
        line = candidate
    if line:
        lines.append(line)
    return lines


def result_lines(result: ExchangeResult) -> list[str]:
    if result.ok:
        head = _("  {title}: готово").format(title=result.title)
        return [head, *wrap_phrases(result.text.split(", "))]
    return [_("  {title}: ошибка").format(title=result.title),
            *textwrap.wrap(result.error or "", WIDTH, initial_indent="    ",
                           subsequent_indent="    ", break_long_words=False)]
