"""The one TLV walker: spans of a run, the first value of a tag, runs cut short."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.fiscal import tlv

PAIRS = st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=40)), max_size=8)


def _run(pairs: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack("<HH", tag, len(value)) + value for tag, value in pairs)


@given(PAIRS)
def test_walk_gives_every_tlv_of_a_run(pairs: list[tuple[int, bytes]]) -> None:
    data = _run(pairs)
    spans = list(tlv.walk(data))
    assert [(s.tag, data[s.value:s.end]) for s in spans] == pairs
    assert [s.start for s in spans[1:]] == [s.end for s in spans[:-1]]
    for tag, _value in pairs:
        assert tlv.find(data, tag) == next(v for t, v in pairs if t == tag)  # the first


@given(PAIRS.filter(bool), st.data())
def test_a_run_cut_short_stops_before_the_cut_tlv(pairs: list[tuple[int, bytes]],
                                                  data: st.DataObject) -> None:
    whole = _run(pairs)
    cut = data.draw(st.integers(0, len(whole) - 1))
    spans = list(tlv.walk(whole[:cut]))
    assert all(s.end <= cut for s in spans)
    assert len(spans) < len(pairs)
    assert tlv.span_at(whole, spans[-1].end if spans else 0, cut) is None


def test_find_of_a_missing_tag_is_none() -> None:
    assert tlv.find(_run([(1000, b"x")]), 1001) is None
    assert tlv.find(b"\x00", 1) is None
