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


def _recording_link(spec: str, options: str, *, bytewise: bool,
                    ) -> tuple[AtolLink, list[bytes]]:
    tasks: list[bytes] = []

    def register(task: bytes) -> tuple[bool, bytes]:
        tasks.append(task)
        return _register(task)

    link = AtolLink(register, faults=FaultInjector(parse_faults(spec), seed=5),
                    options=LinkOptions.parse(options))
    link.bytewise = bytewise
    return link, tasks


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.0005, 0.002, 0.08, 0.6]),
                          st.lists(PIECES, min_size=1, max_size=3).map(b"".join)),
                min_size=1, max_size=8),
       st.sampled_from([f"baud={BAUD}", f"baud={BAUD},latency=1", f"baud={BAUD},latency=3",
                        f"baud={BAUD},latency=0.3", f"baud={BAUD},nak=0.2",
                        f"baud={BAUD},corrupt_in=0.05,latency=1",
                        "baud=9600,drop_in=0.05", ""]),
       st.sampled_from(["", "results=sync", "abort_reply=A1,ack_reply=A1"]),
       # polled at its deadlines, every 50 us, and late (a loaded machine): one poll
       # then takes several packets, a task falling due among them, a frame timeout
       st.sampled_from([None, 50e-6, 0.004, 0.7]))
# the first result falls due inside the second ADD, the second's inside the third: it
# leaves before their replies, as a byte at a time sends it
# one late poll takes a cut packet, the frame timeout after it, and the next packet
@example([(0.0, build_frame(1, add(1, TASK))[:6]), (0.6, build_frame(2, add(2, TASK)))],
         f"baud={BAUD}", "", 0.7)
@example([(0.0, build_frame(1, add(1, TASK))[:6]), (0.6, b"\x00" + build_frame(2, req(1)))],
         f"baud={BAUD},latency=1", "", 0.7)
@example([(0.0, build_frame(1, add(1, TASK)) + build_frame(2, add(2, TASK))
           + build_frame(3, add(3, TASK)))], f"baud={BAUD},latency=0.3", "", 0.004)
@example([(0.0, build_frame(1, add(1, TASK)) + build_frame(2, add(2, TASK)))],
         f"baud={BAUD},latency=1", "", None)
def test_a_write_read_at_once_is_answered_as_read_a_byte_at_a_time(
        script: list[tuple[float, bytes]], spec: str, options: str,
        grid: float | None) -> None:
    """The same bytes at the same moments, the same tasks run in the same order, the same
    number of wake-ups, whether the link's readers take each write whole or a byte at a
    time: frames split across writes or several in one, escapes, noise, cut and damaged
    packets, "send it again", tasks falling due in the middle of a packet, the line's
    faults, and a poll at the link's deadlines, every 50 us, or late."""
    end = sum(gap for gap, _ in script) + 1.0
    whole, whole_tasks = _recording_link(spec, options, bytewise=False)
    single, single_tasks = _recording_link(spec, options, bytewise=True)
    assert drive(whole, script, grid=grid, end=end) == drive(single, script, grid=grid,
                                                             end=end)
    assert whole_tasks == single_tasks


def _dated(link: AtolLink, script: list[tuple[float, bytes]], step: float,
           end: float) -> list[tuple[float, bytes]]:
    """Every write handed in up front with its own time (as a line that dates bytes by
    the write does when it reads them late), then polled every ``step``."""
    at = 0.0
    for gap, data in script:
        at += gap
        link.receive(data, at)
    out = []
    now = 0.0
    while now < end:
        now += step
        out.append((now, link.poll(now)))
    return out


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.0005, 0.002, 0.08, 0.6]),
                          st.lists(PIECES, min_size=1, max_size=3).map(b"".join)),
                min_size=1, max_size=8),
       st.sampled_from([f"baud={BAUD}", f"baud={BAUD},latency=0.3", f"baud={BAUD},latency=1",
                        f"baud={BAUD},nak=0.2"]),
       st.sampled_from([0.001, 0.7, 2.0]))
@example([(0.0, build_frame(1, add(1, TASK))[:6]), (0.6, build_frame(2, add(2, TASK)))],
         f"baud={BAUD}", 2.0)  # a cut packet, its frame timeout, the next: in one poll
@example([(0.0, build_frame(1, add(1, TASK))), (0.0, build_frame(2, add(2, TASK))[:6]),
          (0.6, build_frame(3, req(1)))], f"baud={BAUD},latency=1", 2.0)
# a task falls due inside a write that comes a frame timeout after the line's last byte
# and ends unfinished: no frame timeout is counted from before the silence
@example([(0.0, build_frame(1, add(1, TASK))), (0.6, build_frame(2, add(2, TASK))[:8])],
         f"baud={BAUD},latency=599.5", 2.0)
def test_a_poll_long_after_the_bytes_answers_as_a_byte_at_a_time(
        script: list[tuple[float, bytes]], spec: str, step: float) -> None:
    """Writes read late, several with the line's silence between them in one poll: the
    frame timeout cuts a packet where a byte at a time cuts it, tasks fall due between."""
    end = sum(gap for gap, _ in script) + 2.0
    whole, whole_tasks = _recording_link(spec, "", bytewise=False)
    single, single_tasks = _recording_link(spec, "", bytewise=True)
    assert _dated(whole, script, step, end) == _dated(single, script, step, end)
    assert whole_tasks == single_tasks
