"""The ATOL link wakes its line once a packet, not once a byte, and loses nothing: driven
only at its own deadlines it answers exactly as when polled every 50 us."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kkt_bridge.drivers.atol.emulator.link import FRAME_TIMEOUT, AtolLink, LinkOptions
from kkt_bridge.drivers.atol.frame import STX, build_frame
from kkt_bridge.drivers.atol.taskbuffer import abort, ack, add, req
from kkt_bridge.emulation.faults import FaultInjector, parse_faults
from kkt_bridge.testing.paced_link import assert_punctual, drive

BAUD = 115200
BYTE = 10 / BAUD
TASK = bytes.fromhex("00 00 3F")


def _register(task: bytes) -> tuple[bool, bytes]:
    return task[-1:] != b"\xff", b"\x44" + task[-1:] * 3


def _link(spec: str = f"baud={BAUD}", options: str = "") -> AtolLink:
    return AtolLink(_register, faults=FaultInjector(parse_faults(spec), seed=5),
                    options=LinkOptions.parse(options))


def test_a_whole_packet_is_one_wake_at_its_last_byte() -> None:
    link = _link()
    frame = build_frame(1, add(1, TASK))
    link.receive(frame, 10.0)
    at = link.next_deadline()
    assert at == pytest.approx(10.0 + len(frame) * BYTE)  # not 10.0 + BYTE: no byte acts
    assert link.poll(at - BYTE) == b""
    assert link.poll(at) == b""  # the A1 reply is on the wire for its own bytes' time
    assert link.next_deadline() is not None


@pytest.mark.parametrize(("spec", "options", "wakes_for_the_ack"), [
    (f"baud={BAUD}", "", False),
    (f"baud={BAUD},nak=0.01", "", True),  # a refused ACK's "send it again" leaves on time
    (f"baud={BAUD}", "ack_reply=A1", True),
])
def test_the_ack_before_the_next_add_wakes_the_line_only_when_it_may_be_answered(
        spec: str, options: str, wakes_for_the_ack: bool) -> None:
    link = _link(spec, options)
    acknowledgement = build_frame(2, ack(1))
    link.receive(acknowledgement + build_frame(3, add(2, TASK)), 10.0)
    first = link.next_deadline()
    ack_end = 10.0 + len(acknowledgement) * BYTE
    assert first == pytest.approx(ack_end if wakes_for_the_ack else
                                  ack_end + len(build_frame(3, add(2, TASK))) * BYTE)


def test_an_unfinished_packet_wakes_at_its_frame_timeout() -> None:
    link = _link()
    link.receive(build_frame(3, add(1, TASK))[:6], 10.0)
    deadline = link.next_deadline()
    assert deadline == pytest.approx(10.0 + 6 * BYTE + FRAME_TIMEOUT)
    assert link.poll(deadline) == b""  # cut: answered by an empty packet, once on the wire
    resend = link.next_deadline()
    assert resend is not None
    assert link.poll(resend) == build_frame(3, b"")


_IDS = st.integers(1, 4)
_TIDS = st.integers(1, 3)
PIECES = st.one_of(
    st.builds(lambda pid, tid, last: build_frame(pid, add(tid, TASK[:-1] + bytes([last]))),
              _IDS, _TIDS, st.sampled_from([0x3F, 0xFF, STX])),  # FE in a task: escaped
    st.builds(lambda pid, tid: build_frame(pid, ack(tid)), _IDS, _TIDS),
    st.builds(lambda pid, tid: build_frame(pid, req(tid)), _IDS, _TIDS),
    st.builds(lambda pid: build_frame(pid, abort()), _IDS),
    st.builds(lambda pid: build_frame(pid, b""), _IDS),  # "send your last packet again"
    st.builds(lambda pid, b: build_frame(pid, b)[:-1] + b"\x00", _IDS,
              st.binary(min_size=1, max_size=6)),  # a bad CRC (or, by chance, a good one)
    st.builds(lambda pid, n: build_frame(pid, add(1, TASK))[:n], _IDS,
              st.integers(1, 8)),  # a packet cut short: the next FE or the timeout ends it
    st.binary(min_size=1, max_size=4),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.0005, 0.002, 0.08, 0.6]), PIECES),
                min_size=1, max_size=8),
       st.sampled_from([f"baud={BAUD}", f"baud={BAUD},latency=1", f"baud={BAUD},latency=3"]),
       st.sampled_from(["", "results=sync", "abort_reply=A1,ack_reply=A1"]))
# The second ADD arrives while the first one's A1 waits to be released and its result is
# due in the middle of the ADD: with the old queue a late poll glued the result and the
# second A1 to the first reply, putting them on the wire before the register sent them.
@example([(0.0, build_frame(1, add(1, TASK))), (0.0005, build_frame(2, add(2, TASK)))],
         f"baud={BAUD},latency=1", "")
def test_waking_at_deadlines_answers_as_polling_every_50us(
        script: list[tuple[float, bytes]], spec: str, options: str) -> None:
    end = sum(gap for gap, _ in script) + 1.0
    exact, exact_polls = drive(_link(spec, options), script, grid=None, end=end)
    polled, _ = drive(_link(spec, options), script, grid=50e-6, end=end)
    assert_punctual(exact, polled, 50e-6)
    bytes_in = sum(len(data) for _gap, data in script)
    assert exact_polls <= 2 * bytes_in + 4 * len(script) + 4
