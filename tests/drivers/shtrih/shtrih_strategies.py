"""Hypothesis strategies derived from construct declarations.

Walks a declaration (Struct, Switch, Select, integers, strings, bytes ...) and draws values
the declaration can build. Fields that depend on earlier ones (``Switch(this.type)``,
``BytesInteger(this._.size)``) are drawn in order, with the same context construct uses.
A construct the walker does not know fails loudly: add it to :data:`CUSTOM`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

import construct as c
from hypothesis import reject
from hypothesis import strategies as st

GREEDY_MAX = 48

_CP1251_TEXT = "".join(
    ch for ch in (bytes([b]).decode("cp1251", errors="ignore") for b in range(1, 256)) if ch)
_ASCII_TEXT = "".join(chr(b) for b in range(1, 128))

DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
MINUTES = st.builds(datetime.combine, DATES, st.times().map(
    lambda t: time(t.hour, t.minute)))


def _fixed_text(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=size)


#: strategies for adapters and hand-written constructs, by class name
CUSTOM: dict[str, Callable[[Any], st.SearchStrategy[Any]]] = {
    "_DeviceDate": lambda con: st.none() | DATES,
    "_DeviceTime": lambda con: st.times().map(lambda t: t.replace(microsecond=0)),
    "_FnDate": lambda con: st.none() | DATES,
    "_FnDateTime": lambda con: st.none() | MINUTES,
    "_TrailingDateTime": lambda con: st.none() | MINUTES,
    # receipt text: cp1251 to the end of the request, cut at the first NUL
    "_Text": lambda con: _fixed_text(_CP1251_TEXT, getattr(con, "min_size", 40)),
}


def _evaluate(value: Any, ctx: dict[str, Any]) -> Any:
    return value(ctx) if callable(value) else value


def strategy_for(con: Any) -> st.SearchStrategy[Any]:
    """Values ``con`` builds and parses back unchanged."""

    @st.composite
    def draw_value(draw: Any) -> Any:
        return _draw(draw, con, {"_": {}})

    return draw_value()


def _draw(draw: Any, con: Any, ctx: dict[str, Any]) -> Any:
    name = type(con).__name__
    if name in CUSTOM:
        return draw(CUSTOM[name](con))
    if isinstance(con, c.Struct):
        inner: dict[str, Any] = {"_": ctx}
        result: dict[str, Any] = {}
        for sub in con.subcons:
            value = _draw(draw, sub, inner)
            if sub.name is not None:
                inner[sub.name] = value
                result[sub.name] = value
        return result
    if isinstance(con, c.Renamed):
        return _draw(draw, con.subcon, ctx)
    if isinstance(con, c.FormatField):
        size = con.length
        signed = con.fmtstr[-1].islower()
        if con.fmtstr[-1] in "efd":
            raise NotImplementedError("no floats in the Shtrih protocol")
        bits = 8 * size
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return draw(st.integers(low, high))
    if isinstance(con, c.BytesInteger):
        size = _evaluate(con.length, ctx)
        if con.signed:
            return draw(st.integers(-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1))
        return draw(st.integers(0, (1 << (8 * size)) - 1))
    if isinstance(con, c.Bytes):
        size = _evaluate(con.length, ctx)
        return draw(st.binary(min_size=size, max_size=size))
    if con is c.GreedyBytes:
        return draw(st.binary(max_size=GREEDY_MAX))
    if isinstance(con, c.StringEncoded):
        fixed = con.subcon
        size = _evaluate(getattr(fixed, "length", GREEDY_MAX), ctx)
        alphabet = _ASCII_TEXT if con.encoding == "ascii" else _CP1251_TEXT
        if con.encoding not in ("ascii", "cp1251"):
            raise NotImplementedError(f"encoding {con.encoding}")
        return draw(_fixed_text(alphabet, size))
    if isinstance(con, c.Switch):
        key = _evaluate(con.keyfunc, ctx)
        return _draw(draw, con.cases.get(key, con.default), ctx)
    if isinstance(con, c.Select):
        index = draw(st.integers(0, len(con.subcons) - 1))
        value = _draw(draw, con.subcons[index], ctx)
        # Select parses the first alternative that fits: a value an earlier one would also
        # read (the raw fallback of FF09 at a known length) is not what the bytes mean
        data = con.subcons[index].build(value)
        for earlier in con.subcons[:index]:
            try:
                earlier.parse(data)
            except c.ConstructError:
                continue
            reject()
        return value
    if isinstance(con, c.Array):
        count = _evaluate(con.count, ctx)
        return [_draw(draw, con.subcon, ctx) for _ in range(count)]
    if isinstance(con, c.Const):
        return con.value
    if con is c.Pass or isinstance(con, c.Terminated.__class__):
        return None
    raise NotImplementedError(f"no strategy for {name}: add one to CUSTOM")


def normalize(value: Any) -> Any:
    """A parsed Container as plain data (construct's private ``_`` keys dropped)."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value
