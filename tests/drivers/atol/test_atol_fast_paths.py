"""The hand-written hot paths of a document read equal their construct declarations: the
task-buffer packets both ways, the fixed tasks, the data of an A4 46 answer."""

from __future__ import annotations

import itertools

import pytest
from construct import ConstructError
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.drivers.atol import frame, taskbuffer
from kkt_bridge.drivers.atol.commands import REGISTRY, fn
from kkt_bridge.drivers.atol.commands.base import EMPTY, Bcd, Command
from kkt_bridge.drivers.atol.errors import AtolDeviceError
from kkt_bridge.errors import ProtocolError

byte = st.integers(0, 255)


@given(tid=byte, flags=byte, task=st.binary(max_size=64))
def test_host_packets_equal_the_declaration(tid: int, flags: int, task: bytes) -> None:
    assert taskbuffer.add(tid, task, flags) == taskbuffer.build_host(
        "ADD", flags=flags, tid=tid, task=task)
    assert taskbuffer.ack(tid) == taskbuffer.build_host("ACK", tid=tid)
    assert taskbuffer.req(tid) == taskbuffer.build_host("REQ", tid=tid)
    assert taskbuffer.abort() == taskbuffer.build_host("ABORT")


@given(data=st.one_of(st.binary(max_size=40),
                      st.tuples(st.sampled_from([0xA6, 0xA7]), st.binary(max_size=8)).map(
                          lambda t: bytes([t[0]]) + t[1])))
def test_a_register_packet_parses_as_the_declaration_says(data: bytes) -> None:
    try:
        declared = taskbuffer.parse_kkt_declared(data)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            taskbuffer.parse_kkt(data)
        return
    fast = taskbuffer.parse_kkt(data)
    assert (fast.status, fast.tid, fast.answer) == (
        declared.status, declared.tid, bytes(declared.answer))


@pytest.mark.parametrize("command", [c for c in REGISTRY.values() if c.request is EMPTY],
                         ids=lambda c: c.label)
@given(password=st.integers(0, 9999))
def test_a_fixed_task_is_the_declared_one(command: Command, password: int) -> None:
    declared = bytes(Bcd(2).build(password)) + command.code + bytes(command.request.build({}))
    assert command.build_task(password) == declared
    assert command.build_task(password) == declared  # kept, the same bytes


@given(answer=st.binary(max_size=40))
def test_the_data_of_a_tlv_answer_is_what_the_declaration_parses(answer: bytes) -> None:
    command = fn.READ_TLV
    try:
        declared = bytes(command.parse_answer(answer).data)
    except (ProtocolError, AtolDeviceError) as exc:
        with pytest.raises(type(exc)):
            command.answer_data(answer)
        return
    assert command.answer_data(answer) == declared


def test_answer_data_is_only_for_an_all_data_answer() -> None:
    with pytest.raises(TypeError):
        fn.DOCUMENT_TLV.answer_data(b"\x55\x00\x03\x00\x10\x00")


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("_")}
    return str(value) if isinstance(value, str) else value


@given(data=st.one_of(st.binary(max_size=12),
                      st.tuples(st.sampled_from([0xC1, 0xC2, 0xC3, 0xC4, 0xC5]),
                                st.binary(max_size=8)).map(lambda t: bytes([t[0]]) + t[1])))
def test_a_host_packet_parses_as_the_declaration_says(data: bytes) -> None:
    try:
        declared = taskbuffer.parse_host_declared(data)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            taskbuffer.parse_host(data)
        return
    assert _plain(taskbuffer.parse_host(data)) == _plain(declared)


@given(status=st.integers(0, 255), tid=st.one_of(st.none(), byte),
       answer=st.binary(max_size=16))
def test_a_reply_is_the_declared_one(status: int, tid: int | None, answer: bytes) -> None:
    try:
        declared = taskbuffer.reply_declared(status, answer, tid)
    except Exception as exc:  # what construct raises for an A6/A7 without its tid
        with pytest.raises(type(exc)):
            taskbuffer.reply(status, answer, tid)
        return
    assert taskbuffer.reply(status, answer, tid) == declared


#: the bytes after a frame's header: escapes (FD), what follows them, anything else
_tail_byte = st.one_of(st.sampled_from([0xFD, 0xED, 0xEE, 0xFE]), byte)


@given(length=st.integers(0, 40), low_extra=st.booleans(),
       tail=st.lists(_tail_byte, max_size=90).map(bytes), cut=st.integers(0, 95))
def test_the_frame_size_equals_the_byte_walk(length: int, low_extra: bool, tail: bytes,
                                             cut: int) -> None:
    """frame_size skips from escape to escape; the walk a byte at a time is the rule. Any
    buffer that starts with STX, cut anywhere (a frame still arriving)."""
    low = (length & 0x7F) | (0x80 if low_extra else 0)  # a top bit the length ignores
    buffer = (bytes((frame.STX, low, length >> 7, 1)) + tail)[:4 + cut]
    assert frame.frame_size(buffer) == frame.frame_size_walk(buffer)
    assert frame.frame_size(bytearray(buffer)) == frame.frame_size_walk(buffer)


#: data rich in the bytes escaping is about
_escapy = st.binary(max_size=12).map(lambda b: b.replace(b"\x01", b"\xfd").replace(
    b"\x02", b"\xfe"))


@given(packet_id=st.integers(0, 0xFC), data=_escapy, tail=st.binary(max_size=8))
def test_the_frame_size_of_a_declared_frame_is_its_length(packet_id: int, data: bytes,
                                                          tail: bytes) -> None:
    """frame_size held to the construct declaration: whatever follows a frame the
    declaration builds, its size is that frame's; any part of it is too short."""
    wire = frame.build_frame_declared(packet_id, data)
    assert frame.frame_size(wire + tail) == len(wire)
    assert [frame.frame_size(wire[:end]) for end in range(len(wire))] == [None] * len(wire)


def _stream() -> st.SearchStrategy[bytes]:
    """Frames whole, damaged and cut, with escapes and garbage between, run together."""
    good = st.builds(frame.build_frame, st.integers(0, 0xF0).filter(lambda i: i < 0xFD),
                     _escapy)
    piece = st.one_of(
        good,
        good.map(lambda f: f[:-1] + bytes([f[-1] ^ 0x01])),  # a bad CRC (or a bad escape)
        st.tuples(good, st.integers(1, 8)).map(lambda t: t[0][:t[1]]),  # cut short
        st.binary(max_size=4),  # noise, STX and ESC among it now and then
        st.sampled_from([b"\xfe", b"\xfd", b"\xfe\x00", b"\xfe\x7f\x00"]),
    )
    return st.lists(piece, max_size=8).map(b"".join)


def _reference_frames(stream: bytes) -> list[tuple[int, bytes | None, bytes]]:
    """The receiver's rule of atol.md §2.1 over a whole stream, stated piece by piece rather
    than as a reader's loop: escaping leaves an FE only as a frame's STX, so every FE starts
    a piece that runs to the next FE. A piece long enough for the length its head says
    (sized by the byte walk) holds that frame, then noise; a shorter one was cut by the
    next FE (all of it damaged) or, the last, is still arriving. What the construct
    declaration parses is a frame; what it refuses, a damaged one."""
    starts = [index for index, value in enumerate(stream) if value == frame.STX]
    out: list[tuple[int, bytes | None, bytes]] = []
    for start, end in itertools.pairwise([*starts, len(stream)]):
        piece = stream[start:end]
        size = frame.frame_size_walk(piece)
        if size is None:
            if end < len(stream):  # cut by the next FE, not still arriving
                out.append((piece[3] if len(piece) > 3 else 0, None, piece))
            continue
        raw = piece[:size]
        try:
            parsed = frame.Frame.parse(raw)
        except ConstructError:
            out.append((raw[3], None, raw))
        else:
            out.append((parsed.id, bytes(parsed.body.data), raw))
    return out


@given(stream=_stream(), cuts=st.lists(st.integers(0, 200), max_size=4))
def test_the_reader_finds_the_frames_the_walked_rule_finds(stream: bytes,
                                                           cuts: list[int]) -> None:
    """The frames FrameReader.next hands out of any stream, fed in reads split anywhere,
    are those of the rule stated piece by piece, sized by the byte walk and parsed by the
    declaration."""
    bounds = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    reader = frame.FrameReader()
    got = []
    for begin, end in itertools.pairwise(bounds):
        reader.feed(stream[begin:end])
        while (received := reader.next()) is not None:
            got.append((received.packet_id, received.data, received.raw))
    assert got == _reference_frames(stream)
