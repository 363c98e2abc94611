"""The timing of a paced serial line, for a protocol's emulated link, knowing no protocol byte.

With a baud rate set (``FaultSpec.baud``), a byte is not seen by the register before a real
8N1 line would have delivered it, and bytes leave no faster than such a line carries them.

What leaves goes in whole pieces, each released when its last byte would have left the
wire: a client never sees a byte early, and never a frame in two parts (a real register
does not pause inside a frame; an emulator descheduled on a loaded machine would, and the
client would rightly reject the cut frame).

Inbound, the bytes of a write set off at the moment the line gives (:meth:`Pacer.arrive`'s
``now``) or when the line is done with the bytes before them, whichever is later, and take
a byte time each. How close that moment is to the client's write is the line's business
(:mod:`.lines`): over TCP on Linux it is the kernel's receive stamp, the write itself
within microseconds, so the request's own wire time hides its crossing of the loopback;
over a pty it is the moment the emulator read the bytes, so the pty's crossing (tens of
microseconds) comes on top of the wire time of every request. Outbound, a piece is due
when its last byte would have left the wire; the crossing to the client after that (pty or
socket) is not the pacer's to hide, and adds to every answer.

The link tells the pacer which inbound bytes it acts on (``acts``: a control byte, the
last byte of a frame, by a look-ahead of its own receive state machine). The pacer then
names only those arrivals in :meth:`Pacer.next_deadline`, and the line wakes once a frame,
not once a byte; every byte still reaches the link with its own arrival time, so handling
bytes late changes nothing. Handling them early changes nothing either, as long as no input
can overtake the link (:meth:`Pacer.quiet_until`): the line then lets the link do a frame's
work before its last byte is in, and holds what it answers until its time. The seeded line
faults of :class:`~.faults.FaultInjector` (silence, corrupted and dropped bytes, an answer
cut by a disconnect) are applied here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from .faults import FaultInjector


class Pacer:
    def __init__(self, faults: FaultInjector, *, byte_timeout: float) -> None:
        self.faults = faults
        #: a frame not finished this long after its last byte is forgotten by the protocol
        self.byte_timeout = byte_timeout
        #: bytes that crossed the line: what the client wrote, what went on the wire
        self.bytes_in = 0
        self.bytes_out = 0
        self._inbox: deque[tuple[float, int]] = deque()
        self._events: deque[float] = deque()  # arrivals of the inbox bytes the link acts on
        self._in_free = 0.0  # when the inbound line finishes its last byte
        self._outq = bytearray()
        # what was emitted and not yet released, in order: (when its last byte leaves the
        # wire, its length); each piece has its own times, as the line may idle between two
        self._pieces: deque[tuple[float, int]] = deque()
        self._out_free = 0.0  # when the outbound line finishes the last byte queued on it
        self._cut_after: int | None = None  # bytes of _outq to send before a disconnect
        self._cut_at: float | None = None  # a cut handed out ahead, for release() to report

    # --- inbound ----------------------------------------------------------------------------

    def arrive(self, data: bytes, now: float, acts: Callable[[int, float], bool]) -> None:
        """Bytes the client wrote, setting off at ``now`` (the write where the line knows it,
        else the read): through the line's faults, each gets the time a real line would
        deliver it; ``acts(byte, arrival)`` says whether the link will act on it (it may
        say yes too often, which costs a wake-up, never no wrongly)."""
        self.bytes_in += len(data)
        faults = self.faults
        if faults.is_silent(now):
            return
        data = faults.inbound(data)
        bt = faults.spec.byte_time
        for byte in data:
            arrival = max(now, self._in_free) + bt
            self._in_free = arrival
            self._inbox.append((arrival, byte))
            if acts(byte, arrival):
                self._events.append(arrival)

    def arrived(self, now: float) -> Iterator[tuple[float, int]]:
        """(arrival time, byte) of every byte that has arrived by ``now``, in order."""
        inbox = self._inbox
        while inbox and inbox[0][0] <= now:
            yield inbox.popleft()
        events = self._events
        while events and events[0] <= now:
            events.popleft()

    def quiet_until(self, now: float) -> float:
        """No byte given to :meth:`arrive` with a time of ``now`` or later arrives before
        this moment: the inbound line is busy until its last byte is in, and a new byte
        takes a byte time of its own. Up to here the link may be run ahead of the real
        clock: no input can overtake it (a line that dates bytes by their write keeps them
        no earlier than this ``now``, :mod:`.lines`)."""
        return max(now, self._in_free) + self.faults.spec.byte_time

    @property
    def receiving(self) -> bool:
        """Bytes are on their way in (some not arrived yet)."""
        return bool(self._inbox)

    # --- outbound ---------------------------------------------------------------------------

    def emit(self, data: bytes, at: float) -> None:
        """Put one piece (a control byte, a frame) on the line, starting no sooner than
        ``at`` and no sooner than the line has sent what was emitted before; the line's
        faults may damage or drop its bytes."""
        data = self.faults.outbound(data)
        if not data:
            return
        # The piece's own ``at`` counts even when earlier pieces wait unreleased: the link
        # may emit late (polled after the moment it acted), and gluing the piece to the
        # end of the queue would put it on the wire before the device decided to send it.
        start = max(at, self._out_free)
        self._out_free = start + len(data) * self.faults.spec.byte_time
        self._outq += data
        self._pieces.append((self._out_free, len(data)))

    def cut_after(self, count: int) -> None:
        """A disconnect fault: ``count`` more bytes beyond those queued now, then the line
        drops (:meth:`release` says when)."""
        self._cut_after = len(self._outq) + count

    def release(self, now: float) -> tuple[bytes, bool]:
        """The bytes to write to the client at ``now`` (whole pieces only), and whether the
        line must drop now (a cut answer)."""
        # a millionth of a byte of tolerance: monotonic seconds since boot lose more than
        # 1e-9 of a byte time to rounding, and the wake-up at the exact deadline would
        # find the piece not quite out and need a second one
        if self._cut_at is not None and self._cut_at <= now:
            self._cut_at = None
            return b"", True
        due = now + 1e-6 * self.faults.spec.byte_time
        count = 0
        pieces = self._pieces
        while pieces and pieces[0][0] <= due:
            count += pieces.popleft()[1]
        if not count:
            return b"", False
        if self._cut_after is not None and count >= self._cut_after:
            out = bytes(self._outq[:self._cut_after])
            self.bytes_out += len(out)
            self._outq.clear()
            pieces.clear()
            self._out_free = min(self._out_free, now)  # the bytes cut never took the line
            self._cut_after = None
            return out, True
        out = bytes(self._outq[:count])
        self.bytes_out += count
        del self._outq[:count]
        if self._cut_after is not None:
            self._cut_after -= count
        return out, False

    def release_ahead(self, until: float) -> bytes:
        """The pieces due by ``until``, handed out before their time for the line to write
        at ``until`` (then nothing is left to do at that moment but the write). What is
        queued by then cannot change: a piece emitted later starts when they have left.
        A cut among them is told by :meth:`release` from ``until`` on."""
        out, cut = self.release(until)
        if cut:
            self._cut_at = until
        return out

    def clear_input(self) -> None:
        """Forget what is on its way in (the line dropped)."""
        self._inbox.clear()
        self._events.clear()

    # --- the clock --------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The next moment the pacer has something for the link: the arrival of a byte the
        link acts on, the byte timeout of bytes that arrive without one, the release of
        the next piece. None when only new input can change anything."""
        times: list[float] = []
        if self._events:
            times.append(self._events[0])
        elif self._inbox:
            times.append(self._inbox[-1][0] + self.byte_timeout)
        if self._pieces:
            times.append(self._pieces[0][0])
        if self._cut_at is not None:
            times.append(self._cut_at)
        return min(times) if times else None
