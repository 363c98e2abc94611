"""The transport v3 frame: the reference's vectors both ways, round trips, the receiver."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.drivers.atol.frame import (
    ASYNC_ID,
    MAX_PACKET_ID,
    FrameReader,
    build_frame,
    build_frame_declared,
    crc8,
    next_packet_id,
    parse_frame,
    parse_frame_declared,
)
from kkt_bridge.errors import FrameError, KktBridgeError

# atol.md §2.1: (packet id, unescaped data, wire bytes)
VECTORS = [
    (0x01, "", "FE 00 00 01 9D"),
    (ASYNC_ID, "A6 57 55 00 00", "FE 05 00 F0 A6 57 55 00 00 FD EE"),
    (0x02, "C1 01 01 00 00 3F", "FE 06 00 02 C1 01 01 00 00 3F ED"),
    (0x06, "C1 01 02 00 00 A4 30", "FE 07 00 06 C1 01 02 00 00 A4 30 4E"),
    (0x07, "C1 01 03 00 00 A4 45 01 00 00 00", "FE 0B 00 07 C1 01 03 00 00 A4 45 01 00 00 00 35"),
    (0x03, "C3 01", "FE 02 00 03 C3 01 37"),
    (0x04, "C2 01", "FE 02 00 04 C2 01 20"),
    (0x05, "C4", "FE 01 00 05 C4 75"),
    (0x11, "C2 57", "FE 02 00 11 C2 57 33"),
    (0x10, "C1 01 04 00 00 FE FD", "FE 07 00 10 C1 01 04 00 00 FD EE FD ED 17"),
]


@pytest.mark.parametrize(("packet_id", "data", "wire"), VECTORS)
def test_reference_vectors_build(packet_id: int, data: str, wire: str) -> None:
    assert build_frame(packet_id, bytes.fromhex(data)) == bytes.fromhex(wire)


@pytest.mark.parametrize(("packet_id", "data", "wire"), VECTORS)
def test_reference_vectors_parse(packet_id: int, data: str, wire: str) -> None:
    assert parse_frame(bytes.fromhex(wire)) == (packet_id, bytes.fromhex(data))


def test_a_300_byte_payload_header() -> None:
    assert build_frame(0x12, bytes(300))[:4] == bytes.fromhex("FE 2C 02 12")


def test_packet_ids_wrap_to_zero_not_one() -> None:
    assert next_packet_id(MAX_PACKET_ID) == 0
    assert next_packet_id(0) == 1
    assert next_packet_id(0x10) == 0x11


def test_crc_of_the_empty_frame() -> None:
    assert crc8(b"\x01") == 0x9D


IDS = st.integers(0, MAX_PACKET_ID) | st.just(ASYNC_ID)


@given(IDS, st.binary(max_size=600))
def test_frames_round_trip(packet_id: int, data: bytes) -> None:
    wire = build_frame(packet_id, data)
    assert parse_frame(wire) == (packet_id, data)
    assert 0xFE not in wire[1:]


@given(IDS, st.binary(max_size=200), st.integers(1, 7))
def test_the_reader_finds_frames_fed_in_pieces(packet_id: int, data: bytes, step: int) -> None:
    wire = b"\x00\x13" + build_frame(packet_id, data) + build_frame(1, b"")
    reader = FrameReader()
    got = []
    for start in range(0, len(wire), step):
        reader.feed(wire[start:start + step])
        while (frame := reader.next()) is not None:
            got.append((frame.packet_id, frame.data))
    assert got == [(packet_id, data), (1, b"")]
    assert reader.dropped == 2


def test_a_bad_crc_comes_out_damaged_with_its_id() -> None:
    wire = bytearray(build_frame(0x22, b"\xc2\x01"))
    wire[4] ^= 0x01  # C2 -> C3: the CRC no longer matches
    reader = FrameReader()
    reader.feed(bytes(wire))
    frame = reader.next()
    assert frame is not None and frame.damaged and frame.packet_id == 0x22


def test_a_frame_cut_by_a_new_stx_is_damaged_and_the_next_one_read() -> None:
    whole = build_frame(0x05, b"\xc4")
    reader = FrameReader()
    reader.feed(build_frame(0x07, b"\xc1\x01\x02\x00\x00\x3f")[:6] + whole)
    first, second = reader.next(), reader.next()
    assert first is not None and first.damaged
    assert second is not None and (second.packet_id, second.data) == (0x05, b"\xc4")


@given(st.binary(max_size=300))
def test_no_bytes_crash_the_frame_parser(data: bytes) -> None:
    try:
        packet_id, body = parse_frame(data)
    except KktBridgeError:
        return
    assert build_frame(packet_id, body) == data


@given(IDS, st.binary(max_size=300))
def test_the_fast_builder_is_the_declaration(packet_id: int, data: bytes) -> None:
    assert build_frame(packet_id, data) == build_frame_declared(packet_id, data)


def _outcome(parse: Callable[[bytes], tuple[int, bytes]], data: bytes) -> object:
    try:
        return parse(data)
    except FrameError:
        return FrameError


FRAMES = st.one_of(
    st.binary(max_size=60),
    st.builds(lambda i, d: build_frame(i, d), IDS, st.binary(max_size=60)),
    # a good frame with one byte changed, cut, or extended
    st.builds(lambda i, d, at, b: (lambda w: w[:at % len(w)] + bytes([b]) + w[at % len(w) + 1:])(
        build_frame(i, d)), IDS, st.binary(max_size=40), st.integers(0, 100), st.integers(0, 255)),
    st.builds(lambda i, d, cut: build_frame(i, d)[:cut], IDS, st.binary(max_size=40),
              st.integers(0, 50)),
    st.builds(lambda i, d, tail: build_frame(i, d) + tail, IDS, st.binary(max_size=40),
              st.binary(min_size=1, max_size=3)),
)


@given(FRAMES)
def test_the_fast_parser_is_the_declaration(data: bytes) -> None:
    assert _outcome(parse_frame, data) == _outcome(parse_frame_declared, data)


@given(st.binary(max_size=300))
def test_no_bytes_crash_the_reader(data: bytes) -> None:
    reader = FrameReader()
    reader.feed(data)
    for _frame in range(len(data) + 1):
        if reader.next() is None:
            break
    reader.cut()


def test_oversized_data_and_unsendable_ids_are_refused() -> None:
    with pytest.raises(FrameError):
        build_frame(1, bytes(40000))
    with pytest.raises(FrameError):
        build_frame(0xFE, b"")
