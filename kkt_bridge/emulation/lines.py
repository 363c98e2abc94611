"""The virtual register's lines: a pseudo-terminal and a TCP port, each served by a thread.

A line knows no protocol. The front end hands it a *link factory*; for every conversation
(the pty's life, each TCP connection) the line makes one :class:`EmulatedLink` and pumps
bytes through it: what the client wrote goes to ``receive(data, now)``, what ``poll(now)``
returns goes to the client; ``now`` is when the bytes set off down the line, as far as the
line can tell (see "When bytes set off" below). The loop sleeps in ``select`` until bytes
come or the link's ``next_deadline()`` (a paced frame, the protocol's byte timeout, an
answer's latency), so an idle emulator costs nothing, and a link that reports deadlines
per frame, not per byte, wakes the line once per frame. A paced link's work is done ahead
of time where no input can overtake it, and its answers are held until their moment
(:class:`_Runner`): at the moment itself only the write is left, so an ACK due one byte
time after a frame does not wait for the handler behind it.

pty: the server keeps its own slave descriptor open. Without it the master reads EIO the
moment a client closes the slave, and a client that reopens the port would find nobody;
with it, clients may come and go any number of times. A client's open flushes whatever was
written while nobody listened (pyserial resets the input buffer on open), as on a cable.

TCP: one client at a time, like a real network register; the next connection waits in the
listen backlog and is served when the current one goes away. The emulator's end sends
each answer at once (TCP_NODELAY), as the drivers' ``socket://`` links send each request
(:func:`kkt_bridge.link.opener.open_link`).

When bytes set off
==================

On a real serial line a request starts travelling when the client writes it, and a paced
link (:mod:`.pacing`) gives its bytes their arrivals one byte time apart from that moment.
What the line can tell of that moment depends on its kind:

- TCP on Linux: the kernel stamps each received segment (``SO_TIMESTAMPNS``); on loopback
  that is the client's write, within microseconds, however late this thread reads it
  (from another host, the segment's arrival here, which is as close as this end can get). The
  stamp (wall clock) is turned into ``time.monotonic()`` at the read, and given to the
  link clamped: never later than the read, never earlier than the connection's accept or
  the moment the line last polled the link (:class:`_Runner`, which may have run it ahead
  on the promise that no input overtakes it); a wall clock stepped between the write and
  the read thus misplaces the bytes only within those bounds. A read that joins several
  writes gets the stamp of the last: its bytes arrive a little late, never early. Where
  the option is missing (not Linux, a refusal, ``TcpServer(timestamps=False)``), TCP is
  read like the pty; so are the first segments after the first socket of the system asks
  for stamps (Linux turns stamping on a moment later).
- pty: the write moment is unknowable; ``now`` is when select returned, so the crossing of
  the pty (a kworker hands the bytes over, tens of microseconds) is added to every
  request's arrival.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import platform
import select
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal, Protocol

from kkt_bridge.errors import LinkError, os_error_text
from kkt_bridge.i18n import _

from .faults import FaultInjector, FaultSpec
from .pacing import Pacer

log = logging.getLogger(__name__)

DEFAULT_TCP_HOST = "127.0.0.1"
LineKind = Literal["pty", "tcp"]


class EmulatedLink(Protocol):
    """One conversation of a protocol, as a state machine without I/O (the front end's).

    Times are ``time.monotonic()`` seconds, so a unit test drives it with a fake clock.
    A link whose bytes go through a :class:`~.pacing.Pacer` kept as its ``pacer`` (and
    whose ``poll`` returns what the pacer releases) is run ahead of the real clock where no
    input can overtake it; any other link is polled as its deadlines come.
    """

    #: the line's faults, shared by the line's successive links (seeded noise goes on)
    faults: FaultInjector
    #: set by the link when a fault asks the line to drop the connection
    disconnect_requested: bool

    def receive(self, data: bytes, now: float) -> None:
        """Bytes the client wrote, setting off down the line at ``now``: the client's write
        where the line knows it (TCP with kernel timestamps), else the moment it read them;
        never later than the read, never before the conversation began or the line last
        polled the link."""
        ...

    def poll(self, now: float) -> bytes:
        """Advance to ``now``; the bytes to write to the client now (b"" for none)."""
        ...

    def next_deadline(self) -> float | None:
        """When :meth:`poll` next has something to do; None when only input can wake it."""
        ...


#: what a front end hands a line: a new link for each conversation on a line of this kind
LinkFactory = Callable[[FaultInjector, LineKind], EmulatedLink]
#: a write nobody reads for this long is dropped: the bytes fell off the end of the cable
_STALE_WRITE = 1.0
_READ_SIZE = 4096
_PR_SET_TIMERSLACK = 29
#: how much earlier than a deadline select is asked to return (then the rest is spun)
_EARLY = 80e-6
#: how far ahead of the real clock the link may be run (see :class:`_Runner`)
_AHEAD = 5e-3
#: polls of the link in one turn of the line, at most
_POLLS = 16
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def _timestamp_option() -> int | None:
    """``SO_TIMESTAMPNS`` where this Python or this Linux has it (Python 3.11 names none;
    the number is Linux's generic one, other on SPARC and PA-RISC, which are left out)."""
    known: int | None = getattr(socket, "SO_TIMESTAMPNS", None)
    if known is not None:
        return known
    if not sys.platform.startswith("linux") or not hasattr(socket.socket, "recvmsg"):
        return None
    if platform.machine().lower().startswith(("sparc", "parisc")):
        return None
    return 35


_SO_TIMESTAMPNS = _timestamp_option()
#: room for one struct timespec in the ancillary data of a read
_STAMP_SPACE = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 0


def _precise_timers() -> None:
    """Ask Linux for exact wake-ups in this thread.

    The default 50 us timer slack would add to every paced byte burst; at 115200 baud a
    byte lasts 87 us, so the slack alone would make the line look 50 % slower.
    """
    if not sys.platform.startswith("linux"):
        return  # prctl is Linux's
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)


class Line:
    """What the pty and TCP servers share: a thread, a wake-up pipe, the fault spec."""

    kind: LineKind

    def __init__(self, link_factory: LinkFactory, *, spec: FaultSpec,
                 seed: int | None) -> None:
        self.link_factory = link_factory
        self.seed = seed
        self._spec = spec
        self._new_spec: FaultSpec | None = None
        self._faults = FaultInjector(spec, seed)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.link: EmulatedLink | None = None
        #: bytes that crossed this line, all conversations: read from and written to clients
        self.bytes_in = 0
        self.bytes_out = 0
        #: how often the serving thread woke up (select returned): what pacing costs
        self.wakeups = 0

    # --- life -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"kkt-emulator-{self.kind}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    @property
    def fault_stats(self) -> dict[str, int]:
        return dict(self._faults.stats)

    def set_faults(self, spec: FaultSpec) -> None:
        """Replace the line's faults; the serving thread applies them before the next byte."""
        self._spec = spec
        self._new_spec = spec
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _run(self) -> None:
        _precise_timers()
        try:
            self._serve()
        except Exception:  # a dying line thread must leave a trace, not vanish
            log.exception("emulator %s line stopped", self.kind)

    @property
    def url(self) -> str:
        raise NotImplementedError

    def _serve(self) -> None:
        raise NotImplementedError

    def _after_read(self) -> None:
        """A hook for the transport after each read (TCP re-arms its quick ACKs)."""

    def _read(self, fd: int) -> tuple[bytes, float | None]:
        """What the client wrote, and when it wrote it (``time.monotonic()``, never later
        than the read) if the transport knows; None when it does not (a pty)."""
        return os.read(fd, _READ_SIZE), None

    def _close(self) -> None:
        raise NotImplementedError

    def _new_link(self) -> EmulatedLink:
        """A fresh conversation. The faults outlive it: a one-shot disconnect stays spent,
        and the seeded noise goes on where it was."""
        if self._new_spec is not None:
            self._new_spec = None
            self._faults.reset(self._spec)
        self.link = self.link_factory(self._faults, self.kind)
        return self.link

    def _drain_wake(self, link: EmulatedLink) -> None:
        with contextlib.suppress(OSError):
            os.read(self._wake_r, 512)
        spec = self._new_spec
        if spec is not None:
            self._new_spec = None
            link.faults.reset(spec)

    # --- one conversation -------------------------------------------------------------------

    def _pump(self, fd: int, link: EmulatedLink) -> str:
        """Serve ``fd`` until it closes, a fault drops it, or the server stops.

        Returns why: "stop", "closed" or "disconnect".
        """
        out = _Outbox()
        run = _Runner(link)
        run.since = time.monotonic()  # no byte of this conversation set off before it began
        while not self._stopping.is_set():
            now = time.monotonic()
            if out.held and out.held[0][0] <= now:
                out.take_due(now)
            if out.pending:
                try:
                    written = out.write(fd, now)
                except OSError:
                    return "closed"
                self.bytes_out += written
            if run.drop_at is not None and not out.held:
                link.disconnect_requested = False
                return "disconnect"
            run.advance(now, out)
            if out.held and out.held[0][0] <= now:
                continue  # an overdue poll answered: out with it before anything else
            if run.drop_at is not None and not out.held:
                continue  # dropped with nothing left to say
            target = run.next_target(out)
            now = time.monotonic()  # the link's work took its time
            timeout = None if target is None else max(0.0, target - now - _EARLY)
            writers = [fd] if out.pending else []
            if out.pending and (timeout is None or timeout > _STALE_WRITE):
                timeout = _STALE_WRITE
            readable, _writable, _x = select.select([fd, self._wake_r], writers, [], timeout)
            self.wakeups += 1
            now = time.monotonic()
            if target is not None and not readable and 0 < target - now <= 2 * _EARLY:
                # select wakes tens of microseconds late: it was asked to wake a little
                # early, and the last stretch is waited out exactly (a paced byte at
                # 115200 baud lasts 87 us, so a late wake-up shows as a slower line); what
                # leaves then is taken beforehand, so that only the write is left to do
                run.prefetch(target, out)
                while now < target:
                    now = time.monotonic()
            if self._wake_r in readable:
                self._drain_wake(link)
            if fd in readable:
                try:
                    data, sent = self._read(fd)
                except BlockingIOError:
                    data, sent = None, None
                except OSError as exc:
                    if exc.errno == errno.EIO:  # pty without any slave: wait for one
                        time.sleep(0.01)
                        continue
                    return "closed"
                if data == b"":
                    return "closed"
                if data:
                    self.bytes_in += len(data)
                    self._after_read()
                    if self._new_spec is not None:
                        # bytes written after an inject() must meet the new faults, even
                        # when they arrived before the wake-up byte was seen
                        self._drain_wake(link)
                    # the client's write where known, but not before the link was last
                    # polled: it may have been run ahead on the promise of no input then
                    link.receive(data, now if sent is None else max(sent, run.since))
        return "stop"


class _Outbox:
    """What the link answered and the client has not got yet: ``held``, pieces worked out
    ahead, each not to be written before its time; ``pending``, bytes due but not yet taken
    by the client (a full pty or socket buffer)."""

    def __init__(self) -> None:
        self.held: deque[tuple[float, bytes]] = deque()
        self.pending = bytearray()
        self._since = 0.0  # when the oldest pending byte fell due

    def take_due(self, now: float) -> None:
        held = self.held
        if not self.pending:
            self._since = now
        while held and held[0][0] <= now:
            self.pending += held.popleft()[1]

    def write(self, fd: int, now: float) -> int:
        """Write what is pending; how many bytes the client took."""
        if now - self._since > _STALE_WRITE:
            log.debug("dropping %d unread bytes", len(self.pending))
            self.pending.clear()
            return 0
        try:
            written = os.write(fd, self.pending)
        except BlockingIOError:
            return 0
        del self.pending[:written]
        if self.pending:
            self._since = now
        return written


class _Runner:
    """Drives the link at its deadlines, on a clock of its own that never goes back.

    A deadline that has come is polled at once. One still to come is polled ahead of the
    real clock when no input can reach the link before it (the pacer's
    :meth:`~kkt_bridge.emulation.pacing.Pacer.quiet_until`): the link then does a frame's
    work while the frame's last bytes are still on the wire, and the outbox holds what it
    answers until its time. Without that, the work would come after the frame, and an
    answer due one byte time later (an ACK, 87 us at 115200 baud) would leave late. What
    the link does is the same either way: the same bytes, at the same moments of its clock.
    """

    def __init__(self, link: EmulatedLink) -> None:
        self.link = link
        pacer = getattr(link, "pacer", None)
        self._pacer: Pacer | None = pacer if isinstance(pacer, Pacer) else None
        self.clock = 0.0
        #: the real time of the last advance that polled the link: a byte the link is given
        #: from now on must not set off before it, as the link may have been run ahead of
        #: the real clock on the promise that no input comes before its quiet_until
        self.since = 0.0
        #: a fault asked to drop the line: when, on the link's clock
        self.drop_at: float | None = None

    def advance(self, now: float, out: _Outbox) -> None:
        link = self.link
        pacer = self._pacer
        ahead = now if pacer is None else min(pacer.quiet_until(now), now + _AHEAD)
        for _turn in range(_POLLS):  # bounded: a link whose deadline never moves waits a turn
            if self.drop_at is not None:
                return
            deadline = link.next_deadline()
            if deadline is None or deadline > ahead:
                return
            at = max(deadline if deadline > now else now, self.clock)
            self.clock = at
            self.since = now
            data = link.poll(at)
            if data:
                out.held.append((at, data))
            if link.disconnect_requested:
                self.drop_at = at

    def prefetch(self, until: float, out: _Outbox) -> None:
        """Take the pieces the pacer releases at ``until`` now, to be written then."""
        if self._pacer is None or self.drop_at is not None or out.held:
            return
        data = self._pacer.release_ahead(until)
        if data:
            out.held.append((until, data))

    def next_target(self, out: _Outbox) -> float | None:
        """When the line has something to do next: a held piece's time, a deadline."""
        times = [out.held[0][0]] if out.held else []
        if self.drop_at is None:
            deadline = self.link.next_deadline()
            if deadline is not None:
                times.append(deadline)
        return min(times) if times else None


class PtyServer(Line):
    """A pseudo-terminal: clients open :attr:`path` as if it were the register's tty."""

    kind: LineKind = "pty"

    def __init__(self, link_factory: LinkFactory, *, spec: FaultSpec,
                 seed: int | None = None) -> None:
        import tty  # POSIX only: the TCP line must import on Windows too

        super().__init__(link_factory, spec=spec, seed=seed)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)

    @property
    def url(self) -> str:
        return self.path

    def start(self) -> None:
        self._new_link()  # before the thread: ``link`` is there as soon as start returns
        super().start()

    def _serve(self) -> None:
        link = self.link or self._new_link()
        while not self._stopping.is_set():
            why = self._pump(self._master, link)
            if why == "disconnect":
                # a pty cannot be unplugged; the device forgets the conversation instead
                link = self._new_link()
            elif why == "closed":
                time.sleep(0.01)

    def _close(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class TcpServer(Line):
    """A TCP port served like a network register: one client at a time."""

    kind: LineKind = "tcp"

    def __init__(self, link_factory: LinkFactory, *, spec: FaultSpec, port: int,
                 seed: int | None = None, host: str = DEFAULT_TCP_HOST,
                 timestamps: bool = True) -> None:
        super().__init__(link_factory, spec=spec, seed=seed)
        self._listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                       socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._listener.bind((host, port))
        except socket.gaierror:
            # a name that does not resolve: the system's words for it are English
            self._listener.close()
            raise LinkError(_("адрес {host} не найден").format(host=host),
                            _("укажите адрес этого компьютера, например --tcp "
                              "127.0.0.1:{port}").format(port=port)) from None
        except OSError as exc:
            self._listener.close()
            if exc.errno == errno.EADDRNOTAVAIL:  # another port would not help
                hint = _("укажите адрес этого компьютера, например --tcp "
                         "127.0.0.1:{port}").format(port=port)
            else:
                hint = _("укажите другой порт: --tcp {host}:0 выберет свободный").format(
                    host=host)
            raise LinkError(_("порт {host}:{port} недоступен: {reason}").format(
                host=host, port=port, reason=os_error_text(exc)), hint) from None
        self._listener.listen(1)
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._client: socket.socket | None = None
        #: read the client's bytes with the kernel's receive time (see the module text);
        #: off, or where the kernel refuses, they count from the moment they are read
        self.timestamps = timestamps and _SO_TIMESTAMPNS is not None
        self._stamped = False  # the current client's socket stamps its segments

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"socket://{host}:{self.port}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            readable, _w, _x = select.select([self._listener.fileno(), self._wake_r], [], [])
            if self._wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 512)
            if self._listener.fileno() not in readable:
                continue
            try:
                client, _addr = self._listener.accept()
            except BlockingIOError:
                continue
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._stamped = self._stamp(client)
            self._client = client
            try:
                self._pump(client.fileno(), self._new_link())
            finally:
                self._client = None
                self._stamped = False
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
                client.close()

    def _after_read(self) -> None:
        # A client without TCP_NODELAY (pyserial's socket:// sets none) holds its next
        # small write until our TCP ACK comes; a delayed ACK would cost it 40 ms a command.
        # Linux drops quick-ACK mode on its own, so it is re-armed after every read.
        client = self._client
        if client is not None and _QUICKACK is not None:
            with contextlib.suppress(OSError):
                client.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    def _stamp(self, client: socket.socket) -> bool:
        """Ask the kernel to stamp the client's segments as they come in."""
        if not self.timestamps or _SO_TIMESTAMPNS is None:
            return False
        try:
            client.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        except OSError:
            return False
        return True

    def _read(self, fd: int) -> tuple[bytes, float | None]:
        client = self._client
        if client is None or not self._stamped:
            return super()._read(fd)
        data, ancillary, _flags, _address = client.recvmsg(_READ_SIZE, _STAMP_SPACE)
        return data, _written_at(ancillary)

    def _close(self) -> None:
        self._listener.close()


def _written_at(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The kernel's receive time of the last segment read (``SCM_TIMESTAMPNS``, wall clock)
    on the ``time.monotonic()`` clock, no later than now; None without one.

    The two clocks' offset is taken afresh at every read, between two monotonic readings,
    so a step of the wall clock (NTP, an admin) can only misplace the segments read across
    it; the line's clamps keep even those between the link's last poll and the read."""
    for level, kind, payload in ancillary:
        if level != socket.SOL_SOCKET or kind != _SO_TIMESTAMPNS:
            continue
        if len(payload) >= 16:  # 64-bit time_t
            seconds, nanoseconds = struct.unpack("qq", payload[:16])
        elif len(payload) >= 8:  # 32-bit time_t
            seconds, nanoseconds = struct.unpack("ii", payload[:8])
        else:
            return None
        if seconds <= 0:
            return None
        before = time.monotonic_ns()
        real = time.time_ns()
        after = time.monotonic_ns()
        written = seconds * 1_000_000_000 + nanoseconds - real + (before + after) // 2
        return min(written, after) / 1e9
    return None
