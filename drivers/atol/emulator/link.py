"""The register's side of transport v3 and its task buffer, a byte-level machine without I/O.

The line (pty or TCP) feeds bytes in with :meth:`AtolLink.receive` and collects what the
register sends with :meth:`AtolLink.poll`; both take the monotonic time, so unit tests drive
it with a fake clock. The rules (atol.md §2, the emulator recommendation of §2.2):

- A damaged packet (bad length or CRC, cut by a new FE, or left unfinished for
  :data:`FRAME_TIMEOUT`) is answered with an empty packet of the same id: "send it again".
- An empty packet from the host asks for the register's last packet with that id again:
  its reply to that packet, or the empty packet that refused it. A new packet with the id
  forgets what was sent with it in the round before [I: the reference says only that the
  host resends; what a register repeats is open, a capture of a damaged exchange settles
  it].
- ADD: the task is queued; the reply on the ADD's packet id is A1 (async mode, the default)
  and the result is pushed later as ``F0: A6 tid answer`` (A7 for an error answer); in sync
  mode the reply is ``A3 answer`` (A4) on the ADD's id. Either way the result is kept until
  the host ACKs its tid. An ADD whose tid is still held gets B2.
- REQ: A1 while queued, A3/A4 with the answer when done, B3 for an unknown tid.
- ACK frees a result; ABORT drops every task. Neither is answered by default: what a real
  register replies is open (atol.md §9 question 2), so :class:`LinkOptions` switches it.
- ACK_ADD (C5): its layout is unknown; accepted only when ``accept_ack_add`` is set.

Pacing and the line's faults are the kit's :class:`~kkt_bridge.emulation.pacing.Pacer`: with
a baud rate set, a byte is not seen before a real 8N1 line would deliver it and bytes leave
no faster than such a line carries them, each packet released whole, starting no sooner
than the register decided to send it. The link tells the pacer which bytes end a packet
(:class:`_Packets` run ahead over the inbox), so the line wakes once a packet, not once a
byte; every byte still reaches the link with its own arrival time, and the timers (the
frame timeout, a task falling due) run in time order, so a late poll acts as a punctual one.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kkt_bridge.emulation.pacing import Pacer
from kkt_bridge.errors import ProtocolError

from ..frame import ASYNC_ID, ESC, STX, FrameReader, Received, build_frame
from ..taskbuffer import NEED_RESULT, BufferCommand, TaskStatus, parse_host, reply

log = logging.getLogger(__name__)

#: a packet not finished this long after its last byte is taken as cut [?]: the v2 manual's
#: T1 (500 ms); no v3 figure is in the sources (a capture with a frame cut on purpose, e.g.
#: a sniffer's pause injection, settles it)
FRAME_TIMEOUT = 0.5
#: replies kept for the host's "send it again", for this many of its latest packet ids [?]:
#: a register that repeated a reply from the id's previous round (224 packets ago) would
#: hand a host an old result; a capture of a re-request after a long session settles it
REPEATS_KEPT = 8
#: results kept for unacknowledged tasks before the buffer reports overflow (B1) [?]: a
#: capture of ADDs without ACKs until B1 settles it
BUFFER_SIZE = 32

#: the handler runs one task (password + command + data) and says whether the answer is a
#: success (A3/A6) or an error answer (A4/A7)
TaskHandler = Callable[[bytes], tuple[bool, bytes]]


@dataclass(frozen=True)
class LinkOptions:
    """The register's choices where the reference has no answer yet (atol.md §9)."""

    #: "async": A1 on the ADD, then F0 A6/A7 (what atol4j expects of a real register, [C]
    #: for the client, [?] for the register); "sync": A3/A4 and the answer on the ADD's id.
    #: A capture of one task (the vendor driver's DeviceDebug log, or a serial sniffer)
    #: shows which, and what flag bit 2 changes (atol.md §9 question 1)
    results: str = "async"
    #: the status byte sent back on an ABORT's packet id, None for no reply [?]: the bytes
    #: after ABORT in a capture of a connect (atol4j sends ABORT first) settle it
    abort_reply: int | None = None
    #: the status byte sent back on an ACK's packet id, None for no reply [?]: the bytes
    #: after any ACK in a capture settle it (§9 question 2)
    ack_reply: int | None = None
    #: whether C5 (acknowledge + add) is understood; otherwise it gets B4 [?]: whether the
    #: vendor driver ever sends C5, with what layout, and the reply, from a capture of an
    #: archive read (§9 question 2)
    accept_ack_add: bool = False

    @classmethod
    def parse(cls, text: str) -> LinkOptions:
        """``results=sync,abort_reply=A1,ack_add`` (the emulator's ``--link-option``s); a
        value it does not take raises ConfigError in the user's language."""
        from kkt_bridge.emulation.emulator import link_byte, link_choice, link_flag

        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, _eq, value = item.partition("=")
            if key == "results":
                values["results"] = link_choice(key, value, ("async", "sync"))
            elif key in ("abort_reply", "ack_reply"):
                values[key] = link_byte(key, value)
            elif key in ("ack_add", "accept_ack_add"):
                values["accept_ack_add"] = link_flag(key, value)
            else:
                raise ValueError(f"unknown option {key}")
        return cls(**values)


@dataclass
class _Task:
    tid: int
    task: bytes
    packet_id: int  # the ADD's packet id: where a sync result goes
    ready_at: float
    need_result: bool
    done: bool = False
    ok: bool = True
    answer: bytes = b""


class _Packets:
    """The frame reader fed a byte at a time, asking it for packets only when one can have
    ended (its :meth:`FrameReader.needed` bytes are in, or an STX may cut the one being
    read): asking after every byte would rescan a long packet once a byte."""

    def __init__(self) -> None:
        self.reader = FrameReader()
        self._need = 1

    def push(self, byte: int) -> list[Received]:
        reader = self.reader
        reader.feed(bytes([byte]))
        self._need -= 1
        if self._need > 0 and byte != STX:
            return []
        out = []
        while (frame := reader.next()) is not None:
            out.append(frame)
        self._need = reader.needed() if reader.pending else 1
        return out

    def cut(self) -> Received | None:
        self._need = 1
        return self.reader.cut()


class AtolLink:
    """One conversation (a pty or one TCP connection) between a host and the register."""

    def __init__(self, handler: TaskHandler, *, faults: Any = None,
                 options: LinkOptions | None = None,
                 power_cycle: Callable[[], None] | None = None) -> None:
        if faults is None:
            from kkt_bridge.emulation.faults import FaultInjector

            faults = FaultInjector()
        self.handler = handler
        self.faults = faults
        self.options = options or LinkOptions()
        self.power_cycle = power_cycle
        self.disconnect_requested = False
        self.pacer = Pacer(faults, byte_timeout=FRAME_TIMEOUT)
        self._packets = _Packets()
        self._last_rx = 0.0
        self._ahead = _Packets()  # the look-ahead reader, at the tail of the pacer's inbox
        self._ahead_last = 0.0
        self._tasks: OrderedDict[int, _Task] = OrderedDict()
        #: our last packet per id of the host's last few packets, for "send it again"
        self._sent: OrderedDict[int, bytes] = OrderedDict()

    @property
    def spec(self) -> Any:
        return self.faults.spec

    @property
    def bytes_in(self) -> int:
        """What the host wrote (before the line's faults)."""
        return self.pacer.bytes_in

    @property
    def bytes_out(self) -> int:
        """What the register put on the wire."""
        return self.pacer.bytes_out

    # --- input ----------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """Bytes the host wrote, setting off down the line at ``now`` (the line's word:
        the write where it knows it, else the read; see ``EmulatedLink.receive``)."""
        self.pacer.arrive(data, now, self._acts)

    def _acts(self, byte: int, arrival: float) -> bool:
        """Will the register act on this byte when it arrives? The link's own reading, run
        early over the inbox: true for a byte that ends a packet, whole or damaged."""
        if self._ahead.reader.pending and arrival - self._ahead_last >= FRAME_TIMEOUT:
            self._ahead.cut()  # the frame timeout will have ended that packet by then
        self._ahead_last = arrival
        frames = self._ahead.push(byte)
        return bool(frames) and not all(map(self._answered_by_nothing, frames))

    def _answered_by_nothing(self, frame: Received) -> bool:
        """A whole ACK or ABORT that no reply option answers, on a line that cannot refuse
        it: handling it at the next packet's wake-up, with its own arrival time, changes
        nothing the host can see, and saves the line a wake-up a task (the ACK of each
        result comes right before the next ADD). A line with faults wakes for it: a refused
        packet's "send it again" must leave on time."""
        data = frame.data
        if not data or getattr(self.faults.spec, "line_faults", True):
            return False
        options = self.options
        return ((data[0] == BufferCommand.ACK and len(data) == 2 and options.ack_reply is None)
                or (data[0] == BufferCommand.ABORT and len(data) == 1
                    and options.abort_reply is None))

    def poll(self, now: float) -> bytes:
        """Advance to ``now``: handle what arrived, run due tasks, return bytes to write."""
        due = self._task_due()
        for at, byte in self.pacer.arrived(now):
            # the timers only when one can fire: a task falls due, or the line was quiet
            # a frame timeout inside a packet (checking on every byte cost a third of a
            # read's emulator time)
            if at >= due or (at - self._last_rx >= FRAME_TIMEOUT
                             and self._packets.reader.pending):
                self._timers(at)
                due = self._task_due()
            self._last_rx = at
            frames = self._packets.push(byte)
            if frames:
                for frame in frames:
                    self._packet(frame, at)
                due = self._task_due()
        self._timers(now)
        return self._release(now)

    def _task_due(self) -> float:
        return min((t.ready_at for t in self._tasks.values() if not t.done),
                   default=float("inf"))

    def _timers(self, now: float) -> None:
        """The frame timeout and the tasks falling due by ``now``, each at its own time and
        in time order, so a late poll sends what a punctual one would, when it would."""
        while True:
            due = [(t.ready_at, t) for t in self._tasks.values() if not t.done]
            ready = min(due, key=lambda item: item[0]) if due else None
            timeout = self._last_rx + FRAME_TIMEOUT if self._packets.reader.pending else None
            if timeout is not None and timeout <= now and (ready is None
                                                           or timeout <= ready[0]):
                cut = self._packets.cut()
                if cut is not None:
                    self._packet(cut, timeout)
            elif ready is not None and ready[0] <= now:
                self._finish(ready[1], ready[0])
            else:
                return

    def next_deadline(self) -> float | None:
        """The next moment :meth:`poll` has something to do, None when only input can."""
        paced = self.pacer.next_deadline()
        times = [] if paced is None else [paced]
        if self._packets.reader.pending and not self.pacer.receiving:
            times.append(self._last_rx + FRAME_TIMEOUT)
        times += [t.ready_at for t in self._tasks.values() if not t.done]
        return min(times) if times else None

    # --- packets --------------------------------------------------------------------------

    def _packet(self, frame: Received, at: float) -> None:
        if frame.data is None:
            # "send it again"; an id no host packet can carry (F0 is ours, FD and FE never
            # stand unescaped) names nothing to ask for: the host finds out by REQ [I]
            if frame.packet_id < ESC and frame.packet_id != ASYNC_ID:
                self._send(frame.packet_id, b"", at)
            return
        if not frame.data:
            # the host asks for our last packet with this id again: a reply, or our own
            # "send it again" when its packet was refused [I]
            again = self._sent.get(frame.packet_id)
            if again is not None:
                self._emit(again, at)
            return
        # a new packet with this id: what we sent with it in the id's last round is gone
        self._sent.pop(frame.packet_id, None)
        if self.faults.refuse_frame():
            self._send(frame.packet_id, b"", at)  # as if it came damaged
            return
        try:
            packet = parse_host(frame.data)
        except ProtocolError:
            self._send(frame.packet_id, reply(TaskStatus.ILLEGAL), at)
            return
        command, args, pid = str(packet.command), packet.args, frame.packet_id
        if command == "ADD":
            self._add(pid, args.flags, args.tid, bytes(args.task), at)
        elif command == "ACK":
            self._tasks.pop(args.tid, None)
            if self.options.ack_reply is not None:
                self._send(pid, reply(self.options.ack_reply), at)
        elif command == "REQ":
            self._req(pid, args.tid, at)
        elif command == "ABORT":
            self._tasks.clear()
            if self.options.abort_reply is not None:
                self._send(pid, reply(self.options.abort_reply), at)
        elif command == "ACK_ADD" and self.options.accept_ack_add:
            self._tasks.pop(args.ack_tid, None)
            self._add(pid, args.add.flags, args.add.tid, bytes(args.add.task), at)
        else:
            self._send(pid, reply(TaskStatus.ILLEGAL), at)

    def _add(self, pid: int, flags: int, tid: int, task: bytes, at: float) -> None:
        if tid in self._tasks:
            self._send(pid, reply(TaskStatus.ALREADY_EXISTS), at)
            return
        if len(self._tasks) >= BUFFER_SIZE:
            self._send(pid, reply(TaskStatus.OVERFLOW), at)
            return
        if self.faults.power_fails():
            log.info("power loss injected at task %d", tid)
            if self.power_cycle is not None:
                self.power_cycle()
            self._tasks.clear()
            return  # the register died before it could reply
        queued = _Task(tid, task, pid, at + self.spec.latency_ms / 1000.0,
                       bool(flags & NEED_RESULT))
        self._tasks[tid] = queued
        if self.options.results == "async":
            self._send(pid, reply(TaskStatus.PENDING), at)
        if queued.ready_at <= at:
            self._finish(queued, at)

    def _finish(self, task: _Task, at: float) -> None:
        try:
            task.ok, task.answer = self.handler(task.task)
        except Exception:  # the register must answer something, and the log must say why
            log.exception("emulated ATOL failed on task %s", task.task[:4].hex())
            task.ok, task.answer = False, bytes([0x55, 0xF6, 0x03])  # internal error
        task.done = True
        self.faults.command_done()
        if self.faults.cut_this_answer():
            self.pacer.cut_after(4)
        if not task.need_result:
            self._tasks.pop(task.tid, None)
            return
        if self.options.results == "async":
            status = TaskStatus.ASYNC_RESULT if task.ok else TaskStatus.ASYNC_ERROR
            self._send(ASYNC_ID, reply(status, task.answer, task.tid), at)
        else:
            status = TaskStatus.RESULT if task.ok else TaskStatus.ERROR
            self._send(task.packet_id, reply(status, task.answer), at)

    def _req(self, pid: int, tid: int, at: float) -> None:
        task = self._tasks.get(tid)
        if task is None:
            self._send(pid, reply(TaskStatus.NOT_FOUND), at)
        elif not task.done:
            self._send(pid, reply(TaskStatus.PENDING), at)
        else:
            status = TaskStatus.RESULT if task.ok else TaskStatus.ERROR
            self._send(pid, reply(status, task.answer), at)

    # --- output ---------------------------------------------------------------------------

    def _send(self, packet_id: int, payload: bytes, at: float) -> None:
        frame = build_frame(packet_id, payload)
        self._sent.pop(packet_id, None)
        self._sent[packet_id] = frame
        while len(self._sent) > REPEATS_KEPT:
            self._sent.popitem(last=False)
        self._emit(frame, at)

    def _emit(self, data: bytes, at: float) -> None:
        self.pacer.emit(data, at)

    def _release(self, now: float) -> bytes:
        out, cut = self.pacer.release(now)
        if cut:
            self.disconnect_requested = True
            self._tasks.clear()
        return out
