"""The frames the transport builds ahead while the line carries a task (``_prepare``): the
host's bytes are the same with them as without, whatever the ids, the tids (a round of tids
starting with ABORT) and the mode, and a frame built ahead is used only for the packet id and
payload it was built for."""

from __future__ import annotations

from typing import Any

import pytest
from atol_fakes import FakeClock, ScriptedPort
from hypothesis import given, settings
from hypothesis import strategies as st

from kkt_bridge.drivers.atol.frame import ASYNC_ID, MAX_PACKET_ID, build_frame
from kkt_bridge.drivers.atol.taskbuffer import HostPacket, TaskStatus, ack, add, reply
from kkt_bridge.drivers.atol.transport import Transport, _Task

READ_NEXT = bytes.fromhex("00 00 A4 46")


class Peer:
    """Answers ADD and C5 (A1 then F0 A6, or A3 on the ADD's id) with a block of the task
    count; takes ACKs silently."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.count = 0

    def __call__(self, packet_id: int, data: bytes) -> list[bytes]:
        packet = HostPacket.parse(data)
        if packet.command not in ("ADD", "ACK_ADD"):
            return []
        args: Any = packet.args if packet.command == "ADD" else packet.args.add
        self.count += 1
        answer = b"\x55\x00" + bytes((self.count & 0xFF,)) * 3
        if self.mode == "sync":
            return [build_frame(packet_id, reply(TaskStatus.RESULT, answer))]
        return [build_frame(packet_id, reply(TaskStatus.PENDING)),
                build_frame(ASYNC_ID, reply(TaskStatus.ASYNC_RESULT, answer, args.tid))]


def _read(*, prepared: bool, mode: str, ack_add: bool, packet_id: int, tid: int,
          blocks: int, task: bytes) -> tuple[list[bytes], list[bytes]]:
    """A chain of ``blocks`` tasks, each sent at once after the last one's result
    (``follow``), as a document read goes; the host's writes and the answers."""
    clock = FakeClock()
    port = ScriptedPort(Peer(mode), clock)
    writes: list[bytes] = []
    write = port.write
    port.write = lambda data: writes.append(bytes(data)) or write(data)  # type: ignore[method-assign]
    transport = Transport(port, clock=clock, ack_add=ack_add)
    if not prepared:
        transport._prepare = lambda run, task: None  # type: ignore[method-assign]
    transport._packet_id, transport._tid = packet_id, tid
    answers = []
    for block in range(blocks):
        after = task if block < blocks - 1 else None  # the last block has no follower
        _status, answer = transport.execute(
            task, 5.0, follow=lambda _s, _a, after=after: after)
        answers.append(answer)
    transport.flush()
    return writes, answers


@settings(max_examples=60, deadline=None)
@given(mode=st.sampled_from(["async", "sync"]), ack_add=st.booleans(),
       packet_id=st.integers(0, MAX_PACKET_ID), tid=st.integers(0, MAX_PACKET_ID),
       blocks=st.integers(1, 6),
       task=st.sampled_from([READ_NEXT, bytes.fromhex("00 00 3F"),
                             bytes.fromhex("FD FE A4 46 FE")]))
def test_the_host_writes_the_same_bytes_with_frames_built_ahead(
        mode: str, ack_add: bool, packet_id: int, tid: int, blocks: int, task: bytes) -> None:
    options = {"mode": mode, "ack_add": ack_add, "packet_id": packet_id, "tid": tid,
               "blocks": blocks, "task": task}
    with_built = _read(prepared=True, **options)  # type: ignore[arg-type]
    without = _read(prepared=False, **options)  # type: ignore[arg-type]
    assert with_built == without
    assert len(with_built[1]) == blocks


def test_a_frame_built_ahead_is_taken_only_for_its_id_and_payload() -> None:
    clock = FakeClock()
    port = ScriptedPort(lambda _pid, _data: [], clock)
    transport = Transport(port, clock=clock)
    written: list[bytes] = []
    transport._send = written.append  # type: ignore[method-assign]
    ack = b"\xc2\x07"
    # a guess for id 1 with another payload, and one for id 2 with this payload: neither
    # is the frame of (1, ack)
    transport._built = {1: (b"\xc2\x08", b"wrong"), 2: (ack, b"wrong too")}
    transport.send(ack)
    assert written == [build_frame(1, ack)]
    # a frame built ahead for the id and payload is taken as it stands (it is
    # build_frame's: the property test above holds the bytes equal)
    marker = build_frame(2, ack)
    transport._built = {2: (ack, marker)}
    transport.send(ack)
    assert written[1] is marker


@pytest.mark.parametrize("ack_add", [False, True])
def test_the_frames_built_ahead_are_the_usual_replys(ack_add: bool) -> None:
    """After a task sent with ``follow``: its ACK and the same task with the next tid (or
    the two in one C5), on the next two packet ids."""
    clock = FakeClock()
    port = ScriptedPort(Peer("async"), clock)
    transport = Transport(port, clock=clock, ack_add=ack_add)
    transport.execute(READ_NEXT, 5.0, follow=lambda _s, _a: None)
    # the task was tid 1 on packet 2 (packet 1: the round's ABORT); its result took no id
    built = transport._built
    assert sorted(built) == [3, 4]
    assert built[3] == (b"\xc2\x01", build_frame(3, b"\xc2\x01"))
    second = (bytes.fromhex("C5 01 01 02") if ack_add else bytes.fromhex("C1 01 02")) + READ_NEXT
    assert built[4] == (second, build_frame(4, second))


def test_a_payload_built_ahead_is_taken_only_for_its_tid_and_task() -> None:
    """_prepare's ADD and ACK payloads stand in for taskbuffer.add / ack only for the tid
    (and the very task object) they were made for; a marker shows when one is taken."""
    clock = FakeClock()
    transport = Transport(ScriptedPort(lambda _pid, _data: [], clock), clock=clock)
    written: list[bytes] = []
    transport._send = written.append  # type: ignore[method-assign]
    task = READ_NEXT
    transport._built_add = (5, task, b"\xc1\x01\x05marker")
    transport._add(_Task(4), task)  # another tid
    transport._add(_Task(5), bytes(bytearray(task)))  # an equal task, not the same object
    transport._add(_Task(5), task)
    assert written == [build_frame(1, add(4, task)), build_frame(2, add(5, task)),
                       build_frame(3, b"\xc1\x01\x05marker")]
    transport._built_ack = (7, b"\xc2\x07marker")
    transport._result(_Task(6), TaskStatus.ASYNC_RESULT, b"")
    transport.flush()
    transport._result(_Task(7), TaskStatus.ASYNC_RESULT, b"")
    transport.flush()
    assert written[3:] == [build_frame(4, ack(6)), build_frame(5, b"\xc2\x07marker")]
