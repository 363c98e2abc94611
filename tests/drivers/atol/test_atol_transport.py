"""The host side of transport v3 against a scripted peer: sync and async results, REQ
polling, resend both ways, refusals, silence."""

from __future__ import annotations

import pytest
from atol_fakes import FakeClock, ScriptedPort, TaskPeer

from kkt_bridge.drivers.atol.errors import TaskBufferError
from kkt_bridge.drivers.atol.frame import ASYNC_ID, build_frame
from kkt_bridge.drivers.atol.taskbuffer import TaskStatus, reply
from kkt_bridge.drivers.atol.transport import Transport
from kkt_bridge.errors import LinkTimeoutError, ProtocolError

TASK = bytes.fromhex("00 00 3F")


def _transport(script, clock: FakeClock | None = None) -> tuple[Transport, ScriptedPort]:
    clock = clock or FakeClock()
    port = ScriptedPort(script, clock)
    return Transport(port, clock=clock), port


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_a_task_comes_back_and_is_acknowledged(mode: str) -> None:
    peer = TaskPeer(handler=lambda task: b"\x55\x00\x00", mode=mode)
    transport, port = _transport(peer)
    status, answer = transport.execute(TASK, 5.0)
    transport.flush()  # the ACK waits for the next packet or the end of the conversation
    assert answer == b"\x55\x00\x00"
    assert status == (TaskStatus.ASYNC_RESULT if mode == "async" else TaskStatus.RESULT)
    # the first packet is the reference's vector: ADD task 01, flags 01, id 01
    assert port.written == [(1, bytes.fromhex("C1 01 01 00 00 3F")), (2, b"\xc2\x01")]
    assert peer.acked == [1]


def test_the_ack_goes_out_with_the_next_task_in_one_write() -> None:
    peer = TaskPeer(handler=lambda task: b"\x55\x00\x00")
    transport, port = _transport(peer)
    writes: list[bytes] = []
    write = port.write
    port.write = lambda data: writes.append(data) or write(data)  # type: ignore[method-assign]
    transport.execute(TASK, 5.0)
    transport.execute(TASK, 5.0)
    assert len(writes) == 2
    assert writes[1].startswith(build_frame(2, b"\xc2\x01"))  # ACK of task 1, then ADD 2
    transport.flush()
    assert peer.acked == [1, 2]


def test_task_and_packet_ids_run_on_and_wrap_to_zero() -> None:
    peer = TaskPeer(handler=lambda task: b"\x55\x00\x00")
    transport, port = _transport(peer)
    for _task in range(0xE0):
        transport.execute(TASK, 5.0)
    tids = [data[2] for _pid, data in port.written if data[0] == 0xC1]
    assert tids[:2] == [1, 2] and tids[-2:] == [0xDF, 0]
    assert {pid for pid, _data in port.written} == set(range(0xE0))


def test_silence_is_polled_with_req_until_the_result() -> None:
    calls = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        calls.append(data)
        if data[0] == 0xC3 and len([c for c in calls if c[0] == 0xC3]) == 2:
            return [build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))]
        if data[0] == 0xC3:
            return [build_frame(packet_id, reply(TaskStatus.IN_PROGRESS))]
        return []

    transport, _port = _transport(script)
    assert transport.execute(TASK, 5.0) == (TaskStatus.RESULT, b"\x55\x00\x00")
    transport.flush()
    assert [c[0] for c in calls] == [0xC1, 0xC3, 0xC3, 0xC2]
    assert calls[1] == b"\xc3\x01"


def test_a_damaged_answer_is_asked_again_with_an_empty_packet() -> None:
    sent = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        sent.append((packet_id, data))
        good = build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))
        if data[:1] == b"\xc1":
            bad = bytearray(good)
            bad[5] ^= 0x01
            return [bytes(bad)]
        if data == b"":  # the host's "send it again"
            return [build_frame(1, reply(TaskStatus.RESULT, b"\x55\x00\x00"))]
        return []

    transport, _port = _transport(script)
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    assert sent[1] == (1, b"")


def test_the_peers_empty_packet_makes_the_host_send_again_a_bounded_number_of_times() -> None:
    seen = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        seen.append(data)
        return [build_frame(packet_id, b"")]  # "send it again", forever

    transport, _port = _transport(script)
    with pytest.raises(ProtocolError):
        transport.execute(TASK, 5.0)
    assert len(seen) == 1 + transport.resends


def test_a_tid_held_by_an_earlier_session_is_freed_and_the_task_added_again() -> None:
    peer = TaskPeer(handler=lambda task: b"\x55\x00\x00", mode="sync")
    held = {1}

    def script(packet_id: int, data: bytes) -> list[bytes]:
        if data[:1] == b"\xc1" and data[2] in held:
            return [build_frame(packet_id, reply(TaskStatus.ALREADY_EXISTS))]
        if data[:1] == b"\xc2":
            held.discard(data[1])
        return peer(packet_id, data)

    transport, port = _transport(script)
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    transport.flush()
    assert [data[:1] for _pid, data in port.written] == [b"\xc1", b"\xc2", b"\xc1", b"\xc2"]


def test_a_resend_request_naming_an_older_packet_is_ignored() -> None:
    # a packet whose id was damaged on the line is answered with an empty packet of the
    # damaged id: sending that older ADD again could run its task twice
    peer = TaskPeer(handler=lambda task: b"\x55\x00\x00", mode="sync")
    first = True

    def script(packet_id: int, data: bytes) -> list[bytes]:
        nonlocal first
        if data[:1] == b"\xc1" and data[2] == 2 and first:
            first = False
            return [build_frame(1, b"")]  # "send packet 1 again": the first task's ADD
        if data[:1] == b"\xc3":
            return [build_frame(packet_id, reply(TaskStatus.NOT_FOUND))]
        return peer(packet_id, data)

    transport, port = _transport(script)
    transport.execute(TASK, 5.0)
    transport.execute(TASK, 5.0)
    assert len(peer.tasks) == 2  # task 1 ran once; task 2 was added again after B3
    assert port.written.count((1, bytes.fromhex("C1 01 01 00 00 3F"))) == 1


def test_b2_on_an_add_that_went_twice_is_our_own_task() -> None:
    calls = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        calls.append(data[:1])
        if data[:1] == b"\xc1" and calls.count(b"\xc1") == 1:
            return [build_frame(packet_id, reply(TaskStatus.PENDING)),
                    build_frame(packet_id, b"")]  # a spurious "send it again"
        if data[:1] == b"\xc1":
            return [build_frame(packet_id, reply(TaskStatus.ALREADY_EXISTS))]
        if data[:1] == b"\xc3":
            return [build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))]
        return []

    transport, _port = _transport(script)
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    transport.flush()
    assert calls == [b"\xc1", b"\xc1", b"\xc3", b"\xc2"]


@pytest.mark.parametrize("status", [0xA5, 0xB1, 0xB2, 0xB3, 0xB4])
def test_buffer_refusals_are_typed(status: int) -> None:
    transport, _port = _transport(lambda pid, data: [build_frame(pid, reply(status))])
    with pytest.raises(TaskBufferError) as caught:
        transport.execute(TASK, 5.0)
    assert caught.value.status == status


def test_a_stale_async_result_is_acknowledged_and_skipped() -> None:
    def script(packet_id: int, data: bytes) -> list[bytes]:
        if data[:1] != b"\xc1":
            return []
        return [build_frame(ASYNC_ID, reply(TaskStatus.ASYNC_RESULT, b"old", 0x33)),
                build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))]

    transport, port = _transport(script)
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    assert (2, b"\xc2\x33") in port.written


def test_silence_times_out_with_a_link_error() -> None:
    clock = FakeClock()
    transport, _port = _transport(lambda pid, data: [], clock)
    with pytest.raises(LinkTimeoutError):
        transport.execute(TASK, 2.0)
    assert 2.0 <= clock.now < 3.0
