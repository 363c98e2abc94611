"""Over TCP the paced line counts a request from the client's write, not from the emulator's
read: bytes written while the line's thread is held up still arrive, in the link's view, a
byte time apart from the write (the kernel's receive stamp), as on a real serial line.

No timing of the machine is asserted: the times the link was given are compared with the
moments the test wrote and let the line go."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from kkt_bridge.emulation.faults import FaultInjector, FaultSpec
from kkt_bridge.emulation.lines import (
    _SO_TIMESTAMPNS,
    _STAMP_SPACE,
    LineKind,
    TcpServer,
    _written_at,
)
from kkt_bridge.emulation.pacing import Pacer

BAUD = 115200
BYTE = FaultSpec(baud=BAUD).byte_time
REQUEST = b"123456789"
#: the clocks' offset is taken between two monotonic readings: under a microsecond off
SLACK = 100e-6
WAIT = 10.0  # only a broken line waits this long

needs_stamps = pytest.mark.skipif(
    _SO_TIMESTAMPNS is None or not sys.platform.startswith("linux"),
    reason="kernel receive timestamps are Linux's")


@pytest.fixture(scope="module", autouse=True)
def kernel_stamping() -> Iterator[None]:
    """Linux turns its receive stamping on for the whole system a moment after the first
    socket asks (a deferred work item), and off after the last one closes: until then the
    line dates bytes by their read, as it should. A socket of our own keeps it on for these
    tests, and a stamped byte says it is on."""
    if _SO_TIMESTAMPNS is None or not sys.platform.startswith("linux"):
        yield
        return
    with ExitStack() as stack:
        listener = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
        sender = stack.enter_context(
            socket.create_connection(listener.getsockname()[:2], timeout=WAIT))
        receiver = stack.enter_context(listener.accept()[0])
        receiver.settimeout(WAIT)
        receiver.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        for _ in range(int(WAIT / 0.01)):  # bounded
            sender.sendall(b"x")
            _data, ancillary, _flags, _a = receiver.recvmsg(16, _STAMP_SPACE)
            if _written_at(ancillary) is not None:
                break
            time.sleep(0.01)
        yield


class HeldLink:
    """A paced toy link that holds the line's thread in its first poll until the test lets
    it go, and notes what the line gives it and when each byte arrives."""

    def __init__(self, faults: FaultInjector, extra_polls: int) -> None:
        self.faults = faults
        self.disconnect_requested = False
        self.pacer = Pacer(faults, byte_timeout=1.0)
        self.holding = threading.Event()
        self.go = threading.Event()
        #: polls due at once after the hold, in a new turn of the line, before it reads
        self.extra_polls = extra_polls
        self.due = 0.0
        self.polled: list[float] = []
        self.given: list[tuple[bytes, float]] = []
        self.arrivals: list[float] = []
        self.all_in = threading.Event()

    def receive(self, data: bytes, now: float) -> None:
        self.given.append((data, now))
        self.pacer.arrive(data, now, lambda _byte, _at: True)

    def poll(self, now: float) -> bytes:
        if not self.go.is_set():
            self.holding.set()
            self.go.wait(WAIT)
            # the extra poll is due from now on, in the line's next turn (which something
            # to write brings at once), not in this one: this turn's moment is the old one
            self.due = time.monotonic()
            return b"!" if self.extra_polls else b""
        if self.extra_polls:
            self.extra_polls -= 1
        self.polled.append(now)
        self.arrivals += [at for at, _byte in self.pacer.arrived(now)]
        if len(self.arrivals) >= len(REQUEST):
            self.all_in.set()
        return b""

    def next_deadline(self) -> float | None:
        if not self.go.is_set():
            return 0.0  # due at once
        if self.extra_polls:
            return self.due
        return self.pacer.next_deadline()


@contextmanager
def held_line(*, timestamps: bool, extra_polls: int = 0) -> Iterator[
        tuple[HeldLink, socket.socket]]:
    links: list[HeldLink] = []

    def factory(faults: FaultInjector, _kind: LineKind) -> HeldLink:
        links.append(HeldLink(faults, extra_polls))
        return links[-1]

    server = TcpServer(factory, spec=FaultSpec(baud=BAUD), port=0, timestamps=timestamps)
    server.start()
    client = socket.create_connection((server.host, server.port), timeout=WAIT)
    try:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(int(WAIT / 0.01)):  # bounded: the line makes its link on accept
            if links:
                break
            time.sleep(0.01)
        assert links, "the line made no link"
        assert links[0].holding.wait(WAIT), "the line never polled its link"
        yield links[0], client
    finally:
        if links:
            links[0].go.set()
        client.close()
        server.stop()


def write_while_held(link: HeldLink, client: socket.socket) -> tuple[float, float, float]:
    """Write the request while the line's thread is held, hold it a while longer, let it go;
    (before the write, after it, when the line was let go)."""
    before = time.monotonic()
    client.sendall(REQUEST)
    after = time.monotonic()
    time.sleep(0.05)  # the emulator reads late: its thread is held up
    released = time.monotonic()
    link.go.set()
    assert link.all_in.wait(WAIT), "the request never arrived"
    return before, after, released


@needs_stamps
def test_a_request_read_late_arrives_a_byte_time_apart_from_its_write() -> None:
    with held_line(timestamps=True) as (link, client):
        before, after, released = write_while_held(link, client)
    assert [data for data, _at in link.given] == [REQUEST]
    given = link.given[0][1]
    # the kernel stamped the segment during the write; the line read it after the release
    assert before - SLACK <= given <= after + SLACK < released
    for number, arrival in enumerate(link.arrivals, 1):
        assert before + number * BYTE - SLACK <= arrival <= after + number * BYTE + SLACK


def test_without_timestamps_a_request_counts_from_its_read() -> None:
    """The other side of the test above (and the pty's model): what it checks is not so by
    itself; bytes are dated by the read, after the line was let go."""
    with held_line(timestamps=False) as (link, client):
        _before, _after, released = write_while_held(link, client)
    given = link.given[0][1]
    assert given >= released
    assert link.arrivals[0] >= released + BYTE


@needs_stamps
def test_a_write_stamped_before_the_links_last_poll_is_given_that_poll() -> None:
    """The line may run a paced link ahead on the promise that no input comes before the
    moment it polled it: a request written earlier but read after is dated by that poll."""
    with held_line(timestamps=True, extra_polls=1) as (link, client):
        before, _after, _released = write_while_held(link, client)
    last_poll = link.polled[0]  # the poll due at once after the release, before the read
    assert last_poll > before
    assert link.given[0][1] >= last_poll


def test_a_stamp_is_never_later_than_the_read() -> None:
    """A wall clock stepped back between the stamp and the read would date the bytes in the
    future: the line gives the read's moment at the latest."""
    future = time.time_ns() + 3_600_000_000_000
    stamp = (future // 1_000_000_000).to_bytes(8, sys.byteorder, signed=True) + (
        future % 1_000_000_000).to_bytes(8, sys.byteorder, signed=True)
    kind = _SO_TIMESTAMPNS if _SO_TIMESTAMPNS is not None else 35
    if _SO_TIMESTAMPNS is None:
        pytest.skip("no SO_TIMESTAMPNS here")
    read_before = time.monotonic()
    at = _written_at([(socket.SOL_SOCKET, kind, stamp)])
    assert at is not None
    assert read_before <= at <= time.monotonic()
    assert _written_at([]) is None


class IdleLink:
    """A paced toy link with nothing to do until bytes come: the line never polls it."""

    def __init__(self, faults: FaultInjector) -> None:
        self.faults = faults
        self.disconnect_requested = False
        self.pacer = Pacer(faults, byte_timeout=1.0)
        self.given: list[tuple[bytes, float]] = []
        self.got = threading.Event()

    def receive(self, data: bytes, now: float) -> None:
        self.given.append((data, now))
        self.got.set()

    def poll(self, now: float) -> bytes:
        return b""

    def next_deadline(self) -> float | None:
        return None


@needs_stamps
def test_bytes_written_before_the_conversation_began_are_given_its_start() -> None:
    """A client that writes at once after connecting, before the line has made its link
    (here: held in the link factory), wrote to a conversation that did not exist yet."""
    made = threading.Event()
    go = threading.Event()
    links: list[IdleLink] = []

    def factory(faults: FaultInjector, _kind: LineKind) -> IdleLink:
        made.set()
        go.wait(WAIT)
        links.append(IdleLink(faults))
        return links[-1]

    server = TcpServer(factory, spec=FaultSpec(baud=BAUD), port=0)
    server.start()
    try:
        with socket.create_connection((server.host, server.port), timeout=WAIT) as client:
            assert made.wait(WAIT), "the line never accepted"
            client.sendall(REQUEST)
            time.sleep(0.05)  # the line is still making its link
            released = time.monotonic()
            go.set()
            for _ in range(int(WAIT / 0.01)):  # bounded
                if links and links[0].got.is_set():
                    break
                time.sleep(0.01)
            assert links and links[0].given, "the request never reached the link"
            assert links[0].given[0][1] >= released
    finally:
        go.set()
        server.stop()
