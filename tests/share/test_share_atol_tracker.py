"""The ATOL exchange rules: where one task-buffer exchange ends, and what is reported.

Each conversation is a script of (side, packet, seconds later), built with the driver's own
frame and task-buffer declarations; the tracker is fed it as the shared port would, and what
it says is compared with what the task buffer (atol.md §2.2) says.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.drivers.atol import taskbuffer
from kkt_bridge.drivers.atol.commands import fn, receipt, status
from kkt_bridge.drivers.atol.commands.base import Command
from kkt_bridge.drivers.atol.exchange import (
    CONTROL_TIME,
    DOCUMENT_CLOSERS,
    FRAME_GAP,
    HOST_REPLY_TIME,
    SEQUENCE_GAP,
    AtolTracker,
)
from kkt_bridge.drivers.atol.frame import ASYNC_ID, build_frame
from kkt_bridge.drivers.atol.taskbuffer import TaskStatus

H, D = "host", "device"
Script = list[tuple[str, bytes, float]]


def task(command: Command, **fields: object) -> bytes:
    return command.build_task(0, **fields)


def add(pid: int, tid: int, command: Command, **fields: object) -> tuple[str, bytes, float]:
    return H, build_frame(pid, taskbuffer.add(tid, task(command, **fields))), 0.001


def ack(pid: int, tid: int) -> tuple[str, bytes, float]:
    return H, build_frame(pid, taskbuffer.ack(tid)), 0.001


def answer(pid: int, state: TaskStatus, data: bytes = b"",
           tid: int | None = None) -> tuple[str, bytes, float]:
    return D, build_frame(pid, taskbuffer.reply(state, data, tid)), 0.001


CLOSE = {"test": 0, "payment_type": 1, "amount": 10000}
DONE = receipt.CLOSE_RECEIPT.build_answer()
REFUSED = receipt.CLOSE_RECEIPT.error_answer(0x9A)


def play(script: Script, tracker: AtolTracker | None = None,
         start: float = 100.0) -> tuple[AtolTracker, float]:
    tracker = tracker or AtolTracker()
    now = start
    for side, data, later in script:
        now += later
        if side == H:
            assert tracker.from_host(data, now) == data
        else:
            assert tracker.from_device(data, now) == data, "every register byte is passed on"
    return tracker, now


SYNC_CLOSE = [add(1, 1, receipt.CLOSE_RECEIPT, **CLOSE),
              answer(1, TaskStatus.RESULT, DONE)]
ASYNC_CLOSE = [add(1, 7, receipt.CLOSE_RECEIPT, **CLOSE), answer(1, TaskStatus.PENDING),
               (H, build_frame(2, taskbuffer.req(7)), 0.5), answer(2, TaskStatus.IN_PROGRESS),
               answer(ASYNC_ID, TaskStatus.ASYNC_RESULT, DONE, tid=7)]


@pytest.mark.parametrize(("script", "busy"), [
    pytest.param([add(1, 1, status.STATE)], True, id="added"),
    pytest.param(SYNC_CLOSE, True, id="result-not-yet-acknowledged"),
    pytest.param([*SYNC_CLOSE, ack(2, 1)], False, id="acknowledged"),
    pytest.param(ASYNC_CLOSE[:2], True, id="pending"),
    pytest.param(ASYNC_CLOSE[:4], True, id="in-progress"),
    pytest.param(ASYNC_CLOSE, True, id="async-result"),
    pytest.param([*ASYNC_CLOSE, ack(3, 7)], False, id="async-acknowledged"),
    pytest.param([add(1, 1, status.STATE), answer(1, TaskStatus.ALREADY_EXISTS)], False,
                 id="refused-by-the-buffer"),
    pytest.param([add(1, 1, status.STATE), answer(1, TaskStatus.PENDING),
                  (H, build_frame(2, taskbuffer.abort()), 0.001)], False, id="abort"),
    pytest.param([(H, build_frame(5, taskbuffer.req(3)), 0)], True, id="lone-req"),
    pytest.param([(H, build_frame(5, taskbuffer.req(3)), 0),
                  answer(5, TaskStatus.NOT_FOUND)], False, id="lone-req-answered"),
    pytest.param([add(1, 1, status.STATE), (D, build_frame(1, b""), 0.001)], True,
                 id="register-asks-again"),
    pytest.param([*SYNC_CLOSE[:1], (D, build_frame(1, b""), 0.001), SYNC_CLOSE[0],
                  SYNC_CLOSE[1], ack(2, 1)], False, id="resent-and-done"),
    pytest.param([add(1, 1, status.STATE), (D, SYNC_CLOSE[1][1][:-1] + b"\x00", 0.001)],
                 True, id="damaged-answer"),
    pytest.param([(H, build_frame(4, b""), 0)], True, id="host-asks-again"),
    pytest.param([answer(ASYNC_ID, TaskStatus.ASYNC_RESULT, DONE, tid=9), ack(1, 9)], False,
                 id="stale-result-freed"),
])
def test_busy_until_the_exchange_is_over(script: Script, busy: bool) -> None:
    tracker, now = play(script)
    assert tracker.busy(now) is busy


def test_a_document_closer_is_reported_once_the_host_acknowledged_it() -> None:
    tracker, now = play(SYNC_CLOSE)
    assert tracker.completed() == []
    tracker, now = play([ack(2, 1)], tracker, now)
    done = tracker.completed()
    assert [(c.command, c.error, c.made_document) for c in done] == [("4A", 0, True)]
    assert tracker.completed() == [], "drained"


def test_an_async_result_is_matched_by_its_task_id() -> None:
    tracker, _now = play([*ASYNC_CLOSE, ack(3, 7)])
    assert [(c.command, c.made_document) for c in tracker.completed()] == [("4A", True)]


def test_a_refused_closer_makes_no_document() -> None:
    tracker, _now = play([add(1, 1, receipt.CLOSE_RECEIPT, **CLOSE),
                          answer(1, TaskStatus.RESULT, REFUSED), ack(2, 1)])
    [done] = tracker.completed()
    assert (done.command, done.error, done.made_document) == ("4A", 0x9A, False)


def test_a_stale_result_reports_nothing() -> None:
    tracker, _now = play([answer(ASYNC_ID, TaskStatus.ASYNC_RESULT, DONE, tid=9), ack(1, 9)])
    assert tracker.completed() == []


def test_document_closers_are_the_fiscal_ones() -> None:
    assert {receipt.CLOSE_RECEIPT.code, receipt.OPEN_SHIFT.code,
            receipt.Z_REPORT.code} == DOCUMENT_CLOSERS
    for ordinary in (status.STATE, receipt.OPEN_RECEIPT, receipt.ITEM, receipt.X_REPORT,
                     receipt.CANCEL_RECEIPT, fn.DOCUMENT_TLV):
        assert ordinary.code not in DOCUMENT_CLOSERS


def test_an_abandoned_task_frees_the_link_at_its_commands_answer_time() -> None:
    tracker, now = play([add(1, 1, receipt.Z_REPORT)])
    assert tracker.deadline() == pytest.approx(now + receipt.Z_REPORT.timeout + CONTROL_TIME)
    assert tracker.busy(now + receipt.Z_REPORT.timeout)
    assert not tracker.busy(now + receipt.Z_REPORT.timeout + CONTROL_TIME + 0.01)


def test_a_result_the_host_never_acknowledges_is_given_up() -> None:
    tracker, now = play(SYNC_CLOSE)
    assert tracker.busy(now + HOST_REPLY_TIME - 0.01)
    assert not tracker.busy(now + HOST_REPLY_TIME + 0.01)


def test_a_stateful_read_holds_the_link_between_its_steps() -> None:
    head = fn.DOCUMENT_TLV.build_answer(document_type=1, length=4)
    tracker, now = play([add(1, 1, fn.DOCUMENT_TLV, fd_number=5),
                         answer(1, TaskStatus.RESULT, head), ack(2, 1)])
    assert tracker.busy(now), "A4 46 follows"
    assert not tracker.busy(now + SEQUENCE_GAP + 0.01)
    block = fn.READ_TLV.build_answer(data=bytes(4))
    tracker, now = play([add(3, 2, fn.READ_TLV), answer(3, TaskStatus.RESULT, block),
                         ack(4, 2), add(5, 3, status.STATE),
                         answer(5, TaskStatus.RESULT, DONE), ack(6, 3)],
                        tracker, now)
    assert not tracker.busy(now), "another command ends the read"


def test_a_cut_frame_is_abandoned_after_the_frame_gap() -> None:
    frame = SYNC_CLOSE[0][1]
    tracker, now = play([(H, frame[:4], 0)])
    assert tracker.busy(now)
    assert tracker.deadline() == pytest.approx(now + FRAME_GAP)
    assert not tracker.busy(now + FRAME_GAP + 0.01)


@given(st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=40))
def test_how_the_bytes_are_cut_changes_nothing(cuts: list[int]) -> None:
    """Reads return whatever the kernel has: the same bytes in other pieces, same verdict."""
    tracker = AtolTracker()
    now = 100.0
    for side, data, _later in [*ASYNC_CLOSE, ack(3, 7)]:
        rest = data
        for cut in [*cuts, len(data)]:
            if not rest:
                break
            now += 0.0001
            piece, rest = rest[:cut], rest[cut:]
            if side == H:
                tracker.from_host(piece, now)
            else:
                tracker.from_device(piece, now)
    assert not tracker.busy(now)
    assert [c.command for c in tracker.completed()] == ["4A"]
