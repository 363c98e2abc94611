"""The kit's paced line, with no protocol: arrival times, whole pieces out, wake-ups only
where the link acts, the line's faults."""

from __future__ import annotations

import pytest

from kkt_bridge.emulation.faults import FaultInjector, parse_faults
from kkt_bridge.emulation.pacing import Pacer

BYTE = 10 / 9600


def _pacer(spec: str = "baud=9600") -> Pacer:
    return Pacer(FaultInjector(parse_faults(spec), seed=1), byte_timeout=0.05)


def test_bytes_arrive_at_line_speed_and_wake_only_where_the_link_acts() -> None:
    pacer = _pacer()
    pacer.arrive(b"abcZ", 1.0, lambda byte, _at: byte == ord("Z"))
    assert pacer.next_deadline() == pytest.approx(1.0 + 4 * BYTE)
    assert list(pacer.arrived(1.0 + 2.5 * BYTE)) == [
        (pytest.approx(1.0 + BYTE), ord("a")), (pytest.approx(1.0 + 2 * BYTE), ord("b"))]
    assert [byte for _at, byte in pacer.arrived(1.0 + 4 * BYTE)] == [ord("c"), ord("Z")]
    assert pacer.next_deadline() is None and not pacer.receiving


def test_bytes_no_one_acts_on_wake_at_the_byte_timeout() -> None:
    pacer = _pacer()
    pacer.arrive(b"ab", 1.0, lambda _byte, _at: False)
    assert pacer.next_deadline() == pytest.approx(1.0 + 2 * BYTE + 0.05)


def test_pieces_leave_whole_when_their_last_byte_is_on_the_wire() -> None:
    pacer = _pacer()
    pacer.emit(b"\x06", 2.0)
    pacer.emit(b"frame", 2.0)
    assert pacer.release(2.0 + 0.5 * BYTE) == (b"", False)
    assert pacer.release(2.0 + 3 * BYTE) == (b"\x06", False)
    assert pacer.next_deadline() == pytest.approx(2.0 + 6 * BYTE)
    assert pacer.release(2.0 + 6 * BYTE) == (b"frame", False)
    assert pacer.bytes_out == 6


def test_a_piece_emitted_after_the_line_went_idle_starts_at_its_own_time() -> None:
    pacer = _pacer()
    pacer.emit(b"\x15", 2.0)  # on the wire until 2.0 + BYTE, not released yet
    pacer.emit(b"\x06", 2.0 + 3 * BYTE)  # the device decided this one later
    assert pacer.release(2.0 + 3.5 * BYTE) == (b"\x15", False)
    assert pacer.next_deadline() == pytest.approx(2.0 + 4 * BYTE)
    assert pacer.release(2.0 + 3.9 * BYTE) == (b"", False)
    assert pacer.release(2.0 + 4 * BYTE) == (b"\x06", False)


def test_an_unpaced_line_sends_at_once() -> None:
    pacer = _pacer("")
    pacer.emit(b"xyz", 5.0)
    assert pacer.release(5.0) == (b"xyz", False)


def test_a_cut_answer_drops_the_line_halfway() -> None:
    pacer = _pacer("")
    pacer.emit(b"\x06", 1.0)
    pacer.cut_after(3)
    pacer.emit(b"abcdef", 1.0)
    assert pacer.release(1.0) == (b"\x06abc", True)


def test_a_silent_line_hears_nothing() -> None:
    pacer = _pacer("silent_after=0")
    pacer.arrive(b"abc", 1.0, lambda _byte, _at: True)
    assert pacer.bytes_in == 3 and not pacer.receiving and pacer.next_deadline() is None


def test_pieces_handed_out_ahead_are_not_released_again() -> None:
    pacer = _pacer()
    pacer.emit(b"\x06", 2.0)
    pacer.emit(b"frame", 2.0)
    assert pacer.release_ahead(2.0 + BYTE) == b"\x06"  # written at 2.0 + BYTE, not before
    assert pacer.release(2.0 + BYTE) == (b"", False)
    assert pacer.next_deadline() == pytest.approx(2.0 + 6 * BYTE)
    pacer.emit(b"!", 2.0)  # decided late: still after what is on the wire
    assert pacer.release(2.0 + 6 * BYTE) == (b"frame", False)
    assert pacer.release(2.0 + 7 * BYTE) == (b"!", False)
    assert pacer.bytes_out == 7


def test_a_cut_handed_out_ahead_drops_the_line_at_its_time() -> None:
    pacer = _pacer()
    pacer.emit(b"\x06", 1.0)
    pacer.cut_after(3)
    pacer.emit(b"abcdef", 1.0)
    assert pacer.release_ahead(1.0 + 7 * BYTE) == b"\x06abc"
    assert pacer.next_deadline() == pytest.approx(1.0 + 7 * BYTE)
    assert pacer.release(1.0 + 6 * BYTE) == (b"", False)
    assert pacer.release(1.0 + 7 * BYTE) == (b"", True)
    assert pacer.next_deadline() is None


def test_no_input_overtakes_a_link_run_until_the_line_is_quiet() -> None:
    pacer = _pacer()
    assert pacer.quiet_until(1.0) == pytest.approx(1.0 + BYTE)
    pacer.arrive(b"abc", 1.0, lambda _byte, _at: False)
    assert pacer.quiet_until(1.0) == pytest.approx(1.0 + 4 * BYTE)
    quiet = pacer.quiet_until(1.0 + 0.5 * BYTE)
    pacer.arrive(b"d", 1.0 + 0.5 * BYTE, lambda _byte, _at: True)  # queued behind them
    assert pacer.next_deadline() == pytest.approx(quiet)  # there, and not a moment sooner
