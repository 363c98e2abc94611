"""The host side of transport v3 against a scripted peer: sync and async results, REQ
polling, resend both ways, refusals, silence, and the rules that keep a task from running
twice or taking another task's result on a faulty line."""

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
    # a round of task ids starts with ABORT (id 01), then the reference's vector: ADD
    # task 01, flags 01, id 02 (atol4j's own first packets: ABORT on connect)
    assert port.written == [(1, b"\xc4"), (2, bytes.fromhex("C1 01 01 00 00 3F")),
                            (3, b"\xc2\x01")]
    assert (build_frame(2, port.written[1][1])
            == bytes.fromhex("FE 06 00 02 C1 01 01 00 00 3F ED"))
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
    assert writes[1].startswith(build_frame(3, b"\xc2\x01"))  # ACK of task 1, then ADD 2
    transport.flush()
    assert peer.acked == [1, 2]


def test_task_and_packet_ids_run_on_and_wrap_to_zero() -> None:
    peer = TaskPeer(handler=lambda task: b"\x55\x00\x00")
    transport, port = _transport(peer)
    for _task in range(0xE0):
        transport.execute(TASK, 5.0)
    transport.execute(TASK, 5.0)
    tids = [data[2] for _pid, data in port.written if data[0] == 0xC1]
    assert tids[:2] == [1, 2] and tids[-3:] == [0xDF, 0, 1]
    assert {pid for pid, _data in port.written} == set(range(0xE0))
    # tid 1 comes round again after an ABORT, in place of the last result's ACK: a result
    # whose ACK was lost without a trace cannot meet the tid's next task
    aborts = [i for i, (_pid, data) in enumerate(port.written) if data == b"\xc4"]
    assert len(aborts) == 2 and port.written[aborts[1] + 1][1][:3] == b"\xc1\x01\x01"
    assert port.written[aborts[1] - 1][1][:1] == b"\xc1"  # task 0's ACK left out


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
    assert [c[0] for c in calls] == [0xC4, 0xC1, 0xC3, 0xC3, 0xC2]
    assert calls[2] == b"\xc3\x01"


def _damaged(frame: bytes) -> bytes:
    bad = bytearray(frame)
    bad[-1] ^= 0x01
    return bytes(bad)


def test_a_damaged_reply_to_the_add_is_asked_again_with_an_empty_packet() -> None:
    sent = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        sent.append((packet_id, data))
        good = build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))
        if data[:1] == b"\xc1":
            return [_damaged(good)]
        if data == b"":  # the host's "send it again"
            return [build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))]
        return []

    transport, _port = _transport(script)
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    assert sent[2] == (2, b"")


def test_a_damaged_result_after_the_task_was_queued_is_asked_with_req() -> None:
    def script(packet_id: int, data: bytes) -> list[bytes]:
        if data[:1] == b"\xc1":
            return [build_frame(packet_id, reply(TaskStatus.PENDING)),
                    _damaged(build_frame(ASYNC_ID, reply(TaskStatus.ASYNC_RESULT, b"x", 1)))]
        if data[:1] == b"\xc3":
            return [build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))]
        return []

    transport, port = _transport(script)
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    assert [data[:1] for _pid, data in port.written] == [b"\xc4", b"\xc1", b"\xc3"]


def test_the_peers_empty_packet_makes_the_host_send_again_a_bounded_number_of_times() -> None:
    seen = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        seen.append(data)
        return [build_frame(packet_id, b"")]  # "send it again", forever

    transport, _port = _transport(script)
    with pytest.raises(ProtocolError):
        transport.execute(TASK, 5.0)
    assert len(seen) == 1 + 1 + transport.resends  # ABORT, ADD, ADD again


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
    assert [data[:1] for _pid, data in port.written] == [
        b"\xc4", b"\xc1", b"\xc2", b"\xc1", b"\xc2"]


def test_a_resend_request_naming_an_older_packet_is_ignored() -> None:
    # a packet whose id was damaged on the line is answered with an empty packet of the
    # damaged id: sending that older ADD again could run its task twice
    peer = TaskPeer(handler=lambda task: b"\x55\x00\x00", mode="sync")
    first = True

    def script(packet_id: int, data: bytes) -> list[bytes]:
        nonlocal first
        if data[:1] == b"\xc1" and data[2] == 2 and first:
            first = False
            return [build_frame(2, b"")]  # "send packet 2 again": the first task's ADD
        if data[:1] == b"\xc3":
            return [build_frame(packet_id, reply(TaskStatus.NOT_FOUND))]
        return peer(packet_id, data)

    transport, port = _transport(script)
    transport.execute(TASK, 5.0)
    transport.execute(TASK, 5.0)
    assert len(peer.tasks) == 2  # task 1 ran once; task 2 was added again after B3
    assert port.written.count((2, bytes.fromhex("C1 01 01 00 00 3F"))) == 1


def test_a_send_again_naming_an_answered_add_is_ignored() -> None:
    calls = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        calls.append(data[:1])
        if data[:1] == b"\xc1":
            return [build_frame(packet_id, reply(TaskStatus.PENDING)),
                    build_frame(packet_id, b"")]  # a spurious "send it again"
        if data[:1] == b"\xc3":
            return [build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))]
        return []

    transport, _port = _transport(script)
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    transport.flush()
    # the A1 proved the ADD arrived: sending it again could only meet B2
    assert calls == [b"\xc4", b"\xc1", b"\xc3", b"\xc2"]


def test_a_refused_ack_sent_with_the_next_add_is_sent_again() -> None:
    peer = TaskPeer(handler=lambda task: b"\x55\x00\x00")
    refused = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        if data[:1] == b"\xc2" and not refused:
            refused.append(packet_id)
            return [build_frame(packet_id, b"")]  # the ACK came damaged
        return peer(packet_id, data)

    transport, port = _transport(script)
    transport.execute(TASK, 5.0)
    transport.execute(TASK, 5.0)
    assert refused and port.written.count((refused[0], b"\xc2\x01")) == 2
    assert peer.acked == [1]


def _b2_after_a_resent_add(after: list[bytes]) -> tuple[Transport, ScriptedPort, list[bytes]]:
    """ADD refused once, sent again, B2: then the probe REQ's reply is ``after``."""
    calls: list[bytes] = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        calls.append(data[:1])
        adds = calls.count(b"\xc1")
        if data[:1] == b"\xc1" and adds == 1:
            return [build_frame(packet_id, b"")]
        if data[:1] == b"\xc1":
            return [build_frame(packet_id, reply(TaskStatus.ALREADY_EXISTS))]
        if data[:1] == b"\xc3":
            return [build_frame(packet_id, after.pop(0))] if after else []
        return []

    transport, port = _transport(script)
    return transport, port, calls


def test_b2_on_an_add_sent_twice_is_asked_and_a_queued_task_is_ours() -> None:
    transport, _port, calls = _b2_after_a_resent_add(
        [reply(TaskStatus.PENDING), reply(TaskStatus.RESULT, b"\x55\x00\x00")])
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    assert calls == [b"\xc4", b"\xc1", b"\xc1", b"\xc3", b"\xc3"]


def test_b2_on_an_add_sent_twice_with_a_finished_task_is_refused_not_guessed() -> None:
    transport, port, calls = _b2_after_a_resent_add([reply(TaskStatus.RESULT, b"old")])
    with pytest.raises(TaskBufferError) as caught:
        transport.execute(TASK, 5.0)
    assert caught.value.status == TaskStatus.ALREADY_EXISTS
    assert port.written[-1][1] == b"\xc2\x01"  # freed, whichever task it was
    assert calls.count(b"\xc1") == 2  # and not added a third time


@pytest.mark.parametrize("repeat", [reply(TaskStatus.PENDING),
                                    reply(TaskStatus.ALREADY_EXISTS)])
def test_a_req_result_without_a_reply_to_the_add_waits_for_the_adds_reply(
        repeat: bytes) -> None:
    # the ADD's reply is lost: a REQ finds a result, which may be a leftover's; the
    # register's copy of the ADD's reply (asked with an empty packet) decides
    calls: list[bytes] = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        calls.append(data[:1])
        if data[:1] == b"\xc3":
            return [build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x01"))]
        if data == b"":
            return [build_frame(packet_id, repeat)]
        if data[:1] == b"\xc1" and calls.count(b"\xc1") == 2:
            return [build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x02"))]
        return []

    transport, _port = _transport(script)
    answer = transport.execute(TASK, 5.0)[1]
    if repeat == reply(TaskStatus.PENDING):  # the task is ours: so is the REQ's result
        assert answer == b"\x55\x00\x01"
        assert calls == [b"\xc4", b"\xc1", b"\xc3", b""]
    else:  # B2: the REQ found a leftover; freed, the task added again
        assert answer == b"\x55\x00\x02"
        assert calls == [b"\xc4", b"\xc1", b"\xc3", b"", b"\xc2", b"\xc1"]


def test_a_reply_to_a_req_sent_before_the_add_went_again_is_dropped() -> None:
    calls: list[bytes] = []

    def script(packet_id: int, data: bytes) -> list[bytes]:
        calls.append(data[:1])
        if data[:1] == b"\xc3" and calls.count(b"\xc3") == 1:
            # B3 (not yet there) arrives after the register asked for the ADD again
            return []
        if data[:1] == b"\xc1" and calls.count(b"\xc1") == 1:
            return []
        if data[:1] == b"\xc1":
            return [build_frame(packet_id, reply(TaskStatus.RESULT, b"\x55\x00\x00"))]
        return []

    transport, port = _transport(script)
    port.inbound += build_frame(2, b"")  # "send the ADD again", waiting on the line
    assert transport.execute(TASK, 5.0)[1] == b"\x55\x00\x00"
    assert calls.count(b"\xc1") == 2


@pytest.mark.parametrize("status", [0xA5, 0xB1, 0xB2, 0xB3, 0xB4])
def test_buffer_refusals_are_typed(status: int) -> None:
    def script(pid: int, data: bytes) -> list[bytes]:
        return [build_frame(pid, reply(status))] if data[:1] in (b"\xc1", b"\xc3") else []

    transport, _port = _transport(script)
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
    assert (3, b"\xc2\x33") in port.written


def test_silence_times_out_with_a_link_error() -> None:
    clock = FakeClock()
    transport, _port = _transport(lambda pid, data: [], clock)
    with pytest.raises(LinkTimeoutError):
        transport.execute(TASK, 2.0)
    assert 2.0 <= clock.now < 3.0


# --- the next task added at once (``follow``) ----------------------------------------------

OTHER = bytes.fromhex("00 00 A5")


def _numbered() -> TaskPeer:
    """A peer whose answers count its tasks: which result went to which call shows."""
    count = iter(range(1, 1000))
    return TaskPeer(handler=lambda task: b"\x55\x00" + bytes((next(count),)))


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_the_task_follow_names_is_added_with_the_ack_at_once_and_only_once(mode: str) -> None:
    peer = TaskPeer(handler=lambda task: b"\x55\x00" + task[-1:], mode=mode)
    transport, port = _transport(peer)
    writes: list[bytes] = []
    write = port.write
    port.write = lambda data: writes.append(data) or write(data)  # type: ignore[method-assign]
    next_task = bytes.fromhex("00 00 46")
    transport.execute(TASK, 5.0, follow=lambda _status, _answer: next_task)
    # before the result reached the caller: the ACK of task 1 and the ADD of task 2
    assert len(writes) == 2
    assert writes[1] == build_frame(3, b"\xc2\x01") + build_frame(
        4, bytes.fromhex("C1 01 02") + next_task)
    _status, answer = transport.execute(next_task, 5.0, follow=lambda _s, _a: None)
    assert answer == b"\x55\x00\x46"
    assert len(writes) == 2, "the task sent ahead is not added again"
    transport.flush()
    assert peer.tasks == [TASK, next_task]
    assert peer.acked == [1, 2]


@pytest.mark.parametrize("then", ["another-task", "flush", "abort"])
def test_a_task_sent_ahead_and_not_asked_for_runs_to_its_end_first(then: str) -> None:
    """The next task went ahead, and another task came (or the batch ended, or ABORT):
    the task sent ahead is run to its end and its result acknowledged and dropped, so no
    result is left in the buffer and none goes to the wrong call."""
    peer = _numbered()
    transport, _port = _transport(peer)
    assert transport.execute(TASK, 5.0, follow=lambda _s, _a: TASK)[1] == b"\x55\x00\x01"
    if then == "another-task":
        assert transport.execute(OTHER, 5.0)[1] == b"\x55\x00\x03"
    elif then == "flush":
        transport.flush()
    else:
        transport.abort()
    transport.flush()
    assert peer.tasks[:2] == [TASK, TASK]
    assert peer.acked[:2] == [1, 2], "the result of the task sent ahead was freed"
    if then == "another-task":
        assert peer.tasks == [TASK, TASK, OTHER]
        assert peer.acked == [1, 2, 3]
