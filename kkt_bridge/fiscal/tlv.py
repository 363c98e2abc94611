"""The one walker over a run of TLVs (tag u16 LE, length u16 LE, value), for everyone who
needs a document's structure without decoding it: the decoder's fast path
(:mod:`.fastparse`), a driver looking for one requisite, an emulator handing a document
out one top-level TLV at a time. What the values mean is :mod:`.wire`'s business.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

HEADER = 4  # tag u16 + length u16


class Span(NamedTuple):
    """Where one TLV lies in its run: ``data[start:end]`` is the whole TLV and
    ``data[value:end]`` its value."""

    tag: int
    start: int
    value: int
    end: int


def header_at(data: bytes, pos: int, end: int) -> tuple[int, int, int] | None:
    """(tag, start of the value, end of the value) of the TLV at ``pos`` within
    ``data[:end]``; None when its header or its value is cut short. A plain tuple: the
    decoder's hot path calls this once a TLV."""
    if end - pos < HEADER:
        return None
    value = pos + HEADER
    after = value + (data[pos + 2] | data[pos + 3] << 8)
    if after > end:
        return None
    return data[pos] | data[pos + 1] << 8, value, after


def span_at(data: bytes, pos: int, end: int | None = None) -> Span | None:
    """The TLV starting at ``pos`` (within ``data[:end]``), or None when cut short."""
    found = header_at(data, pos, len(data) if end is None else end)
    if found is None:
        return None
    tag, value, after = found
    return Span(tag, pos, value, after)


def walk(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Span]:
    """Each TLV of the run ``data[start:end]`` in order; it stops before a TLV cut short
    (a caller that must know checks whether the last span ends at ``end``)."""
    stop = len(data) if end is None else end
    pos = start
    while pos < stop:
        span = span_at(data, pos, stop)
        if span is None:
            return
        yield span
        pos = span.end


def find(data: bytes, tag: int) -> bytes | None:
    """The value of the first top-level TLV ``tag`` of a run, or None."""
    for span in walk(data):
        if span.tag == tag:
            return data[span.value:span.end]
    return None
