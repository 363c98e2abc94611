"""The frame's fast path (driver and emulator, every command) is the declaration's bytes:
``encode_frame`` builds what ``Frame`` builds, ``decode_frame`` reads what ``Frame`` reads
and refuses what it refuses, for any input."""

from __future__ import annotations

from functools import reduce
from operator import xor

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kkt_bridge.drivers.shtrih.frame import (
    MAX_BODY,
    STX,
    build_frame,
    decode_frame,
    encode_frame,
    frame_ok,
    parse_frame,
    xor_all,
)
from kkt_bridge.errors import FrameError


@given(st.binary(min_size=1, max_size=MAX_BODY))
def test_encode_frame_builds_the_declared_bytes(body: bytes) -> None:
    assert encode_frame(body) == build_frame(body)
    frame = encode_frame(body)
    assert frame_ok(frame[1], frame[2:-1], frame[-1])


@pytest.mark.parametrize("body", [b"", bytes(MAX_BODY + 1)])
def test_both_refuse_a_body_that_does_not_fit(body: bytes) -> None:
    with pytest.raises(FrameError):
        build_frame(body)
    with pytest.raises(FrameError):
        encode_frame(body)


def _outcome(read: object, frame: bytes) -> bytes | str:
    try:
        return read(frame)  # type: ignore[operator, no-any-return]
    except FrameError:
        return "refused"


FRAMES = st.one_of(
    st.binary(max_size=12),
    st.binary(min_size=1, max_size=40).map(encode_frame),
    st.tuples(st.binary(min_size=1, max_size=40), st.integers(0, 2), st.binary(max_size=2))
    .map(lambda t: bytearray(encode_frame(t[0]))[:len(t[0]) + 3 - t[1]] + t[2]).map(bytes),
    st.tuples(st.binary(min_size=1, max_size=40), st.integers(0, 42), st.integers(1, 255))
    .map(lambda t: _flip(encode_frame(t[0]), t[1], t[2])),
)


def _flip(frame: bytes, index: int, mask: int) -> bytes:
    damaged = bytearray(frame)
    damaged[index % len(damaged)] ^= mask
    return bytes(damaged)


@given(FRAMES)
@example(b"")
@example(bytes([STX]))
@example(bytes([STX, 0, 0]))
@example(bytes([STX, 1]))
def test_decode_frame_reads_and_refuses_as_the_declaration(frame: bytes) -> None:
    assert _outcome(decode_frame, frame) == _outcome(parse_frame, frame)


@given(st.binary(max_size=2 * MAX_BODY))
@example(b"")
@example(b"\x01")
@example(bytes(range(1, 10)))
def test_xor_all_is_the_xor_of_every_byte(data: bytes) -> None:
    assert xor_all(data) == reduce(xor, data, 0)
