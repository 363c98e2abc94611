"""The Shtrih-M exchange rules: where one exchange ends, what is passed on, what is reported.

Each conversation is a script of (side, bytes, seconds later); the tracker is fed it as the
shared port would, and what it says is compared with what the protocol (reference §1) says.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from share_helpers import SHARING_DRIVERS, rules_of

from kkt_bridge.drivers.shtrih.exchange import (
    CONTROL_TIMEOUT,
    DOCUMENT_CLOSERS,
    FOLLOW_TIME,
    FRAME_GAP,
    SEQUENCE_GAP,
    ShtrihTracker,
)
from kkt_bridge.drivers.shtrih.frame import (
    ACK,
    ENQ,
    NAK,
    STRAY,
    V2_ESC,
    V2_STX,
    V2Frame,
    build_frame,
)
from kkt_bridge.share.rules import ExchangeRules

H, D = "host", "device"
ENQ_B, ACK_B, NAK_B = bytes([ENQ]), bytes([ACK]), bytes([NAK])
STATUS = build_frame(bytes.fromhex("10 1E000000"))
STATUS_ANSWER = build_frame(bytes.fromhex("10 00 1E") + bytes(13))
CLOSE = build_frame(bytes.fromhex("85 01000000") + bytes(60))
CLOSE_OK = build_frame(bytes.fromhex("85 00 01") + bytes(5))
CLOSE_REFUSED = build_frame(bytes.fromhex("85 6B"))
FF3A = build_frame(bytes.fromhex("FF3A 1E000000 05000000"))
FF3A_OK = build_frame(bytes.fromhex("FF3A 00 0300 2000"))
FF3B = build_frame(bytes.fromhex("FF3B 1E000000"))
FF3B_OK = build_frame(bytes.fromhex("FF3B 00") + bytes(32))
FF3B_END = build_frame(bytes.fromhex("FF3B 08"))

Script = list[tuple[str, bytes, float]]


def play(script: Script, tracker: ShtrihTracker | None = None,
         start: float = 100.0) -> tuple[ShtrihTracker, float, bytes]:
    """Feed the script; returns the tracker, the time after the last step, and what was
    passed on to the host."""
    tracker = tracker or ShtrihTracker()
    now = start
    to_host = bytearray()
    for side, data, later in script:
        now += later
        if side == H:
            assert tracker.from_host(data, now) == data
        else:
            to_host += tracker.from_device(data, now)
    return tracker, now, bytes(to_host)


COMMAND = [(H, ENQ_B, 0), (D, NAK_B, 0.001), (H, STATUS, 0.001), (D, ACK_B, 0.001),
           (D, STATUS_ANSWER, 0.002)]


@pytest.mark.parametrize("driver", SHARING_DRIVERS)
def test_rules_satisfy_the_core_protocol(driver: str) -> None:
    assert isinstance(rules_of(driver), ExchangeRules)


@pytest.mark.parametrize(("script", "busy"), [
    pytest.param([(H, ENQ_B, 0)], True, id="enq-waits-for-the-register"),
    pytest.param([(H, ENQ_B, 0), (D, NAK_B, 0.001)], True, id="nak-waits-for-the-frame"),
    pytest.param(COMMAND[:3], True, id="frame-waits-for-ack"),
    pytest.param(COMMAND[:4], True, id="accepted-waits-for-answer"),
    pytest.param(COMMAND, True, id="answer-waits-for-host-ack"),
    pytest.param([*COMMAND, (H, ACK_B, 0.001)], False, id="host-ack-ends-it"),
    pytest.param([*COMMAND, (H, NAK_B, 0.001)], True, id="host-nak-asks-again"),
    pytest.param([*COMMAND, (H, NAK_B, 0.001), (H, ENQ_B, 0), (D, ACK_B, 0.001),
                  (D, STATUS_ANSWER, 0.001), (H, ACK_B, 0.001)], False,
                 id="answer-sent-again-then-acked"),
    pytest.param([(H, ENQ_B, 0), (D, NAK_B, 0.001), (H, STATUS, 0.001), (D, NAK_B, 0.001),
                  (H, STATUS, 0.001), (D, ACK_B, 0.001), (D, STATUS_ANSWER, 0.001),
                  (H, ACK_B, 0.001)], False, id="frame-refused-and-resent"),
    pytest.param([(H, ENQ_B, 0), (D, ACK_B, 0.001), (D, STATUS_ANSWER, 0.001),
                  (H, ACK_B, 0.001)], False, id="held-answer-read-by-enq"),
    pytest.param([(H, ENQ_B, 0), (D, NAK_B, 0.001), (H, STATUS, 0.001),
                  (D, STATUS_ANSWER, 0.001), (H, ACK_B, 0.001)], False, id="ack-lost"),
    pytest.param([(H, STATUS[:3], 0)], True, id="half-a-frame"),
    pytest.param([(H, ENQ_B, 0), (D, NAK_B, 0.001), (H, STATUS, 0.001), (D, ACK_B, 0.001),
                  (D, STATUS_ANSWER[:4], 0.001)], True, id="half-an-answer"),
])
def test_busy_until_the_exchange_is_over(script: Script, busy: bool) -> None:
    tracker, now, _out = play(script)
    assert tracker.busy(now) is busy


@pytest.mark.parametrize(("script", "lasts"), [
    pytest.param([(H, ENQ_B, 0)], CONTROL_TIMEOUT, id="silent-register"),
    pytest.param([(H, ENQ_B, 0), (D, NAK_B, 0.001)], FOLLOW_TIME, id="host-sends-no-frame"),
    pytest.param(COMMAND, 1.0, id="host-never-acks"),
])
def test_an_abandoned_exchange_frees_the_link_after_its_deadline(script: Script,
                                                                 lasts: float) -> None:
    tracker, now, _out = play(script)
    assert tracker.busy(now + lasts - 0.01)
    assert not tracker.busy(now + lasts + 0.01)


def test_the_answer_time_is_the_commands_own() -> None:
    z_report = build_frame(bytes.fromhex("41 1E000000"))
    tracker, now, _out = play([(H, ENQ_B, 0), (D, NAK_B, 0.001), (H, z_report, 0.001),
                               (D, ACK_B, 0.001)])
    assert tracker.busy(now + 60)  # 0x41 may take 65 s
    assert not tracker.busy(now + 67)


def test_stray_ff_between_frames_is_not_passed_on_but_inside_a_frame_it_is() -> None:
    answer = build_frame(bytes.fromhex("10 00 FF FF"))
    _tracker, _now, out = play([(H, ENQ_B, 0), (D, bytes([STRAY]) + NAK_B, 0.001),
                                (H, STATUS, 0.001), (D, ACK_B + answer, 0.001)])
    assert out == NAK_B + ACK_B + answer


@pytest.mark.parametrize(("answer", "made"), [
    (CLOSE_OK, True), (CLOSE_REFUSED, False)], ids=["closed", "refused"])
def test_a_command_that_closes_a_document_is_reported_once_acked(answer: bytes,
                                                                 made: bool) -> None:
    tracker, _now, _out = play([(H, ENQ_B, 0), (D, NAK_B, 0.001), (H, CLOSE, 0.001),
                                (D, ACK_B, 0.001), (D, answer, 0.001)])
    assert tracker.completed() == []  # not before the host has it
    play([(H, NAK_B, 0.001), (H, ENQ_B, 0), (D, ACK_B, 0.001), (D, answer, 0.001),
          (H, ACK_B, 0.001)], tracker)
    done = tracker.completed()
    assert [(c.command, c.made_document) for c in done] == [("85", made)]
    assert tracker.completed() == []


def test_document_closers_are_the_fiscal_ones() -> None:
    assert {0x85, 0x8E, 0xFF45, 0x41, 0xE0, 0xFF36} <= DOCUMENT_CLOSERS
    assert not {0x10, 0x11, 0x40, 0x88, 0xFF3A, 0xFF3B} & DOCUMENT_CLOSERS


def exchange(frame: bytes, answer: bytes) -> Script:
    return [(H, ENQ_B, 0.001), (D, NAK_B, 0.001), (H, frame, 0.001), (D, ACK_B, 0.001),
            (D, answer, 0.001), (H, ACK_B, 0.001)]


def test_a_stateful_read_holds_the_link_until_its_end() -> None:
    tracker, now, _out = play(exchange(FF3A, FF3A_OK) + exchange(FF3B, FF3B_OK))
    assert tracker.busy(now), "between FF3B blocks nobody else may send FF3A"
    assert not tracker.busy(now + SEQUENCE_GAP + 0.01), "a reader that went away"
    tracker, now, _out = play(exchange(FF3A, FF3A_OK) + exchange(FF3B, FF3B_OK)
                              + exchange(FF3B, FF3B_END))
    assert not tracker.busy(now), "error 08 ends the read"
    tracker, now, _out = play(exchange(FF3A, FF3A_OK) + exchange(STATUS, STATUS_ANSWER))
    assert not tracker.busy(now), "another command ends it"


@given(st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=40))
def test_how_the_bytes_are_cut_changes_nothing(cuts: list[int]) -> None:
    """Reads return whatever the kernel has: the same bytes in other pieces, same verdict."""
    whole = [(H, ENQ_B, 0.0), (D, NAK_B, 0.0), (H, CLOSE, 0.0), (D, ACK_B, 0.0),
             (D, bytes([STRAY]) + CLOSE_OK, 0.0)]
    tracker = ShtrihTracker()
    out = bytearray()
    now = 100.0
    for side, data, _later in whole:
        pieces: list[bytes] = []
        rest = data
        for cut in cuts:
            if not rest:
                break
            pieces.append(rest[:cut])
            rest = rest[cut:]
        if rest:
            pieces.append(rest)
        for piece in pieces:
            now += 0.0001
            if side == H:
                tracker.from_host(piece, now)
            else:
                out += tracker.from_device(piece, now)
    assert bytes(out) == NAK_B + ACK_B + CLOSE_OK
    assert tracker.busy(now)
    tracker.from_host(ACK_B, now)
    assert not tracker.busy(now)
    assert [c.command for c in tracker.completed()] == ["85"]


def v2(number: int, data: bytes) -> bytes:
    """A v2 frame built from the declaration, then stuffed."""
    inner = V2Frame.build({"payload": {"value": {"length": len(data) + 2,
                                                 "content": number.to_bytes(2, "little")
                                                 + data}}})
    stuffed = inner.replace(bytes([V2_ESC]), bytes([V2_ESC, 0x83])).replace(
        bytes([V2_STX]), bytes([V2_ESC, 0x81]))
    return bytes([V2_STX]) + stuffed


def test_a_v2_request_and_its_answer_are_one_exchange() -> None:
    # 0x8F and 0x9F in the data travel stuffed
    request = v2(0x8F9F, bytes.fromhex("85 01000000") + bytes(60))
    answer = v2(0x8F9F, bytes.fromhex("85 00 01 9F 8F 00 00 00"))
    tracker, now, out = play([(H, request, 0), (D, answer[:5], 0.001)])
    assert tracker.busy(now) and out == answer[:5]
    tracker, now, out = play([(D, answer[5:], 0.001)], tracker, now)
    assert not tracker.busy(now)
    assert [(c.command, c.made_document) for c in tracker.completed()] == [("85", True)]


def test_a_v2_frame_with_a_bad_crc_is_not_an_answer() -> None:
    request = v2(1, bytes.fromhex("10 1E000000"))
    answer = bytearray(v2(1, bytes.fromhex("10 00 1E") + bytes(13)))
    answer[-1] ^= 0x01
    tracker, now, _out = play([(H, request, 0), (D, bytes(answer), 0.001)])
    assert tracker.busy(now), "the host will repeat its request"
    assert tracker.completed() == []


def test_the_deadline_is_the_next_moment_the_verdict_may_change() -> None:
    tracker = ShtrihTracker()
    assert tracker.deadline() is None
    tracker.from_host(STATUS[:3], 100.0)
    assert tracker.deadline() == pytest.approx(100.0 + FRAME_GAP)
    tracker.from_host(STATUS[3:], 100.01)
    assert tracker.deadline() == pytest.approx(100.01 + CONTROL_TIMEOUT)
