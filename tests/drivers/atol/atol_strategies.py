"""Hypothesis strategies derived from the ATOL construct declarations.

Walks a declaration and draws values it can build and parse back unchanged. A construct the
walker does not know fails loudly: add it to :data:`CUSTOM`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

import construct as c
from hypothesis import strategies as st

from kkt_bridge.drivers.atol.commands.fields import _DECODE

GREEDY_MAX = 48
DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
MINUTES = st.builds(datetime.combine, DATES, st.times().map(lambda t: time(t.hour, t.minute)))
SECONDS = st.times().map(lambda t: t.replace(microsecond=0))
#: the external code page without NUL (a padded field ends at the first NUL)
EXTERNAL_TEXT = "".join(_DECODE[code] for code in range(1, 256))
ASCII_TEXT = "".join(chr(b) for b in range(1, 128))


def _bcd(con: Any) -> st.SearchStrategy[int]:
    return st.integers(0, 10 ** (2 * con.size) - 1)


def _external(con: Any) -> st.SearchStrategy[str]:
    return st.text(alphabet=EXTERNAL_TEXT, max_size=con.size or GREEDY_MAX)


CUSTOM: dict[str, Callable[[Any], st.SearchStrategy[Any]]] = {
    "_Bcd": _bcd,
    "_BcdDate": lambda con: st.none() | DATES,
    "_BcdTime": lambda con: SECONDS,
    "_FnDateTime": lambda con: st.none() | MINUTES,
    "_FnDate": lambda con: st.none() | DATES,
    "_External": _external,
}


def strategy_for(con: Any) -> st.SearchStrategy[Any]:
    @st.composite
    def draw_value(draw: Any) -> Any:
        return _draw(draw, con)

    return draw_value()


def _draw(draw: Any, con: Any) -> Any:
    name = type(con).__name__
    if name in CUSTOM:
        return draw(CUSTOM[name](con))
    if isinstance(con, c.Struct):
        return {sub.name: _draw(draw, sub) for sub in con.subcons if sub.name is not None}
    if isinstance(con, c.Renamed):
        return _draw(draw, con.subcon)
    if isinstance(con, c.FormatField):
        return draw(st.integers(0, (1 << (8 * con.length)) - 1))
    if isinstance(con, c.Bytes):
        return draw(st.binary(min_size=con.length, max_size=con.length))
    if con is c.GreedyBytes:
        return draw(st.binary(max_size=GREEDY_MAX))
    if isinstance(con, c.StringEncoded):
        if con.encoding != "ascii":
            raise NotImplementedError(con.encoding)
        return draw(st.text(alphabet=ASCII_TEXT, max_size=con.subcon.length))
    if isinstance(con, c.Const):
        return con.value
    raise NotImplementedError(f"no strategy for {name}: add one to CUSTOM")


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if not str(k).startswith("_")}
    return value
