"""The line runs a paced link ahead of the real clock only where no input can overtake it, and
holds what the link answers until its time: the same bytes at the same moments as a line that
polls at the deadlines as they come, and over a real pty never a byte before the wire allows."""

from __future__ import annotations

import os
import select
import time
import tty
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kkt_bridge.emulation.faults import FaultInjector, FaultSpec, parse_faults
from kkt_bridge.emulation.lines import PtyServer, _Outbox, _Runner
from kkt_bridge.emulation.pacing import Pacer

END = ord("\n")
ACK = b"!"


class EchoLink:
    """A toy protocol on the kit's pacer: a line ending in newline is ACKed when its last
    byte arrives, and answered with its bytes reversed ``latency`` seconds later."""

    def __init__(self, faults: FaultInjector, latency: float = 0.0) -> None:
        self.faults = faults
        self.disconnect_requested = False
        self.pacer = Pacer(faults, byte_timeout=0.05)
        self.latency = latency
        self._line = bytearray()
        self._answers: deque[tuple[float, bytes]] = deque()
        self.polls: list[float] = []

    def receive(self, data: bytes, now: float) -> None:
        self.pacer.arrive(data, now, lambda byte, _at: byte == END)

    def poll(self, now: float) -> bytes:
        self.polls.append(now)
        for at, byte in self.pacer.arrived(now):
            self._timers(at)
            if byte == END:
                if self._line == b"cut":  # a disconnect fault: two bytes of the answer
                    self.pacer.cut_after(1 + 2)
                self.pacer.emit(ACK, at)
                self._answers.append((at + self.latency, bytes(reversed(self._line))))
                self._line.clear()
            else:
                self._line.append(byte)
        self._timers(now)
        out, cut = self.pacer.release(now)
        if cut:
            self.disconnect_requested = True
        return out

    def _timers(self, now: float) -> None:
        while self._answers and self._answers[0][0] <= now:
            at, answer = self._answers.popleft()
            self.pacer.emit(answer + b"\n", at)

    def next_deadline(self) -> float | None:
        times = [self._answers[0][0]] if self._answers else []
        paced = self.pacer.next_deadline()
        if paced is not None:
            times.append(paced)
        return min(times) if times else None


def _line_on_a_fake_clock(script: list[tuple[float, bytes]], *, ahead: bool,
                          latency: float, baud: int) -> tuple[list[tuple[float, int]],
                                                              list[tuple[float, float]]]:
    """The turn of :meth:`Line._pump` with time moving only to its targets and inputs:
    ((time written, byte)..., (real time, link time) of every poll)."""
    link = EchoLink(FaultInjector(FaultSpec(baud=baud)), latency)
    runner = _Runner(link)
    if not ahead:
        runner._pacer = None  # a link without a pacer: polled as its deadlines come
    out = _Outbox()
    inputs = deque()
    t = 0.0
    for gap, data in script:
        t += gap
        inputs.append((t, data))
    sent: list[tuple[float, int]] = []
    polls: list[tuple[float, float]] = []
    now = 0.0
    for _ in range(10_000):  # bounded: a line that never settles fails, not hangs
        if out.held and out.held[0][0] <= now:
            out.take_due(now)
            sent += [(now, byte) for byte in out.pending]
            out.pending.clear()
        if runner.drop_at is not None and not out.held:
            sent.append((now, -1))  # the line drops
            break
        before = len(link.polls)
        runner.advance(now, out)
        polls += [(now, at) for at in link.polls[before:]]
        if (out.held and out.held[0][0] <= now) or (runner.drop_at is not None and not out.held):
            continue
        target = runner.next_target(out)
        times = [time for time in (target, inputs[0][0] if inputs else None)
                 if time is not None]
        if not times:
            break
        if ahead and target is not None and target == min(times):
            runner.prefetch(target, out)  # as the line does before waiting out the rest
            # a turn of the line a moment before the target must find nothing due yet
            probe = max(now, target - 1e-9)
            out.take_due(probe)
            sent += [(probe, byte) for byte in out.pending]
            out.pending.clear()
        now = max(now, min(times))
        while inputs and inputs[0][0] <= now:
            link.receive(inputs.popleft()[1], now)
    return sent, polls


SCRIPTS = st.lists(
    st.tuples(st.sampled_from([0.0, 0.0001, 0.0004, 0.002, 0.03]),
              st.sampled_from([b"ab\n", b"\n", b"abcdef\n", b"xy", b"a\nb\n", b"q",
                               b"cut\n"])),
    min_size=1, max_size=8)


@settings(max_examples=120, deadline=None)
@given(SCRIPTS, st.sampled_from([0.0, 0.0005, 0.003]), st.sampled_from([9600, 115200]))
def test_running_ahead_sends_the_same_bytes_at_the_same_moments(
        script: list[tuple[float, bytes]], latency: float, baud: int) -> None:
    exact, _ = _line_on_a_fake_clock(script, ahead=False, latency=latency, baud=baud)
    early, polls = _line_on_a_fake_clock(script, ahead=True, latency=latency, baud=baud)
    assert early == exact
    # and the link's clock never went back, whatever the real one did
    link_times = [at for _real, at in polls]
    assert link_times == sorted(link_times)


def test_a_frame_is_worked_out_while_its_last_bytes_are_on_the_wire() -> None:
    byte = 10 / 115200
    sent, polls = _line_on_a_fake_clock([(1.0, b"abc\n")], ahead=True, latency=0.0,
                                        baud=115200)
    # one poll, when the bytes were read, for the moment the newline arrives and the
    # moment the ACK is out; the answer frame waits for its own time (input could come)
    assert polls[0] == (1.0, pytest.approx(1.0 + 4 * byte))
    assert polls[1] == (1.0, pytest.approx(1.0 + 5 * byte))
    assert sent[0] == (pytest.approx(1.0 + 5 * byte), ord("!"))
    assert sent[1:] == [(pytest.approx(1.0 + 9 * byte), byte_) for byte_ in b"cba\n"]


def test_an_unpaced_line_is_never_run_ahead() -> None:
    sent, polls = _line_on_a_fake_clock([(1.0, b"ab\n")], ahead=True, latency=0.001, baud=0)
    assert all(at <= real for real, at in polls)
    assert sent == [(1.0, ord("!")), *[(pytest.approx(1.001), b) for b in b"ba\n"]]


def _read_until(fd: int, count: int, limit: float) -> list[tuple[float, int]]:
    got: list[tuple[float, int]] = []
    end = time.monotonic() + limit
    while len(got) < count and time.monotonic() < end:
        if select.select([fd], [], [], 0.05)[0]:
            seen = time.monotonic()
            got += [(seen, byte) for byte in os.read(fd, 256)]
    return got


@pytest.mark.parametrize("latency", [0.0, 0.004])
def test_over_a_pty_no_byte_comes_before_the_wire_allows(latency: float) -> None:
    baud = 9600
    byte = 10 / baud
    server = PtyServer(lambda faults, _kind: EchoLink(faults, latency),
                       spec=parse_faults(f"baud={baud}"), seed=1)
    server.start()
    client = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(client)
        for frame in (b"hello\n", b"\n", b"0123456789\n"):
            sent_at = time.monotonic()  # before the write: the line reads it no sooner
            os.write(client, frame)
            got = _read_until(client, 1 + len(frame), limit=10.0)
            assert bytes(b for _t, b in got) == ACK + frame[:-1][::-1] + b"\n"
            ack_due = sent_at + (len(frame) + 1) * byte
            answer_due = max(ack_due, sent_at + len(frame) * byte + latency) \
                + len(frame) * byte
            assert got[0][0] >= ack_due - 1e-6
            assert all(seen >= answer_due - 1e-6 for seen, _b in got[1:])
    finally:
        os.close(client)
        server.stop()
