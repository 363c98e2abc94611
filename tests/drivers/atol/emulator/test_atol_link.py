"""The register's side of transport v3, byte level, on a fake clock (atol.md §2.2)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kkt_bridge.drivers.atol.emulator.link import FRAME_TIMEOUT, AtolLink, LinkOptions
from kkt_bridge.drivers.atol.frame import ASYNC_ID, FrameReader, build_frame
from kkt_bridge.drivers.atol.taskbuffer import TaskStatus, abort, ack, add, reply, req

TASK = bytes.fromhex("00 00 3F")
ANSWER = b"\x44\x01"


@dataclass
class _Spec:
    byte_time: float = 0.0
    latency_ms: float = 0.0


class QuietFaults:
    """A healthy line: what the link asks of a FaultInjector, answering "no fault"."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        self.spec = _Spec(latency_ms=latency_ms)

    def is_silent(self, now: float) -> bool:
        return False

    def inbound(self, data: bytes) -> bytes:
        return data

    def outbound(self, data: bytes) -> bytes:
        return data

    def refuse_frame(self) -> bool:
        return False

    def power_fails(self) -> bool:
        return False

    def command_done(self) -> None:
        pass

    def cut_this_answer(self) -> bool:
        return False


def _link(options: LinkOptions | None = None, *, latency_ms: float = 0.0,
          ok: bool = True) -> tuple[AtolLink, list[bytes]]:
    tasks: list[bytes] = []

    def handler(task: bytes) -> tuple[bool, bytes]:
        tasks.append(task)
        return ok, ANSWER if ok else b"\x55\x9b\x00"

    return AtolLink(handler, faults=QuietFaults(latency_ms), options=options), tasks


def _frames(data: bytes) -> list[tuple[int, bytes | None]]:
    reader = FrameReader()
    reader.feed(data)
    out = []
    while (frame := reader.next()) is not None:
        out.append((frame.packet_id, frame.data))
    return out


def _exchange(link: AtolLink, packet_id: int, payload: bytes, now: float = 0.0
              ) -> list[tuple[int, bytes | None]]:
    link.receive(build_frame(packet_id, payload), now)
    return _frames(link.poll(now))


def test_async_by_default_pending_then_f0_and_kept_until_ack() -> None:
    link, tasks = _link()
    assert _exchange(link, 1, add(1, TASK)) == [
        (1, reply(TaskStatus.PENDING)), (ASYNC_ID, reply(TaskStatus.ASYNC_RESULT, ANSWER, 1))]
    assert tasks == [TASK]
    # kept until ACK: REQ gets it again, a second ADD of tid 1 gets B2
    assert _exchange(link, 2, req(1)) == [(2, reply(TaskStatus.RESULT, ANSWER))]
    assert _exchange(link, 3, add(1, TASK)) == [(3, reply(TaskStatus.ALREADY_EXISTS))]
    assert _exchange(link, 4, ack(1)) == []
    assert _exchange(link, 5, req(1)) == [(5, reply(TaskStatus.NOT_FOUND))]
    assert tasks == [TASK]  # run once


def test_sync_results_come_on_the_adds_packet_id() -> None:
    link, _tasks = _link(LinkOptions(results="sync"))
    assert _exchange(link, 0x10, add(7, TASK)) == [(0x10, reply(TaskStatus.RESULT, ANSWER))]


def test_an_error_answer_is_a7() -> None:
    link, _tasks = _link(ok=False)
    out = _exchange(link, 1, add(1, TASK))
    assert out[1] == (ASYNC_ID, reply(TaskStatus.ASYNC_ERROR, b"\x55\x9b\x00", 1))


def test_a_task_with_latency_is_pending_on_req_until_done() -> None:
    link, _tasks = _link(latency_ms=100)
    assert _exchange(link, 1, add(1, TASK)) == [(1, reply(TaskStatus.PENDING))]
    assert _exchange(link, 2, req(1), now=0.05) == [(2, reply(TaskStatus.PENDING))]
    assert link.next_deadline() == pytest.approx(0.1)
    assert _frames(link.poll(0.1)) == [(ASYNC_ID, reply(TaskStatus.ASYNC_RESULT, ANSWER, 1))]


def test_abort_drops_everything_and_its_reply_is_switchable() -> None:
    link, _tasks = _link()
    _exchange(link, 1, add(1, TASK))
    assert _exchange(link, 2, abort()) == []
    assert _exchange(link, 3, req(1)) == [(3, reply(TaskStatus.NOT_FOUND))]
    link, _tasks = _link(LinkOptions(abort_reply=0xA1))
    assert _exchange(link, 9, abort()) == [(9, reply(0xA1))]


def test_ack_add_only_when_switched_on() -> None:
    payload = bytes([0xC5, 1, 0x01, 2]) + TASK
    link, tasks = _link()
    assert _exchange(link, 1, payload) == [(1, reply(TaskStatus.ILLEGAL))]
    link, tasks = _link(LinkOptions(accept_ack_add=True))
    assert _exchange(link, 1, payload)[0] == (1, reply(TaskStatus.PENDING))
    assert tasks == [TASK]


def test_a_damaged_packet_is_answered_with_an_empty_one_of_its_id() -> None:
    link, tasks = _link()
    wire = bytearray(build_frame(0x21, add(1, TASK)))
    wire[5] ^= 0x01
    link.receive(bytes(wire), 0.0)
    assert _frames(link.poll(0.0)) == [(0x21, b"")]
    assert tasks == []


def test_a_cut_packet_is_answered_after_the_frame_timeout() -> None:
    link, _tasks = _link()
    link.receive(build_frame(0x22, add(1, TASK))[:6], 0.0)
    assert link.poll(0.0) == b""
    assert link.next_deadline() == pytest.approx(FRAME_TIMEOUT)
    assert _frames(link.poll(FRAME_TIMEOUT)) == [(0x22, b"")]


def test_the_hosts_empty_packet_gets_the_last_packet_of_that_id_again() -> None:
    link, _tasks = _link(LinkOptions(results="sync"))
    first = _exchange(link, 5, add(1, TASK))
    assert _exchange(link, 5, b"") == first


@pytest.mark.parametrize("payload", [b"\xc9", b"\xc1\x01", b"\xc2"])
def test_malformed_buffer_commands_get_b4(payload: bytes) -> None:
    link, _tasks = _link()
    assert _exchange(link, 1, payload) == [(1, reply(TaskStatus.ILLEGAL))]


def test_packet_id_zero_is_accepted() -> None:
    link, _tasks = _link(LinkOptions(results="sync"))
    assert _exchange(link, 0, add(0, TASK)) == [(0, reply(TaskStatus.RESULT, ANSWER))]
