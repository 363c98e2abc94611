"""The register's side of transport v3 and its task buffer, a byte-level machine without I/O.

The line (pty or TCP) feeds bytes in with :meth:`AtolLink.receive` and collects what the
register sends with :meth:`AtolLink.poll`; both take the monotonic time, so unit tests drive
it with a fake clock. The rules (atol.md §2, the emulator recommendation of §2.2):

- A damaged packet (bad length or CRC, cut by a new FE, or left unfinished for
  :data:`FRAME_TIMEOUT`) is answered with an empty packet of the same id: "send it again".
- An empty packet from the host asks for the register's last packet with that id again.
- ADD: the task is queued; the reply on the ADD's packet id is A1 (async mode, the default)
  and the result is pushed later as ``F0: A6 tid answer`` (A7 for an error answer); in sync
  mode the reply is ``A3 answer`` (A4) on the ADD's id. Either way the result is kept until
  the host ACKs its tid. An ADD whose tid is still held gets B2.
- REQ: A1 while queued, A3/A4 with the answer when done, B3 for an unknown tid.
- ACK frees a result; ABORT drops every task. Neither is answered by default: what a real
  register replies is open (atol.md §9 question 2), so :class:`LinkOptions` switches it.
- ACK_ADD (C5): its layout is unknown; accepted only when ``accept_ack_add`` is set.

Pacing: with a baud rate set, a byte is not seen before a real 8N1 line would deliver it and
bytes leave no faster than such a line carries them, each packet released whole.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kkt_bridge.errors import ProtocolError

from ..frame import ASYNC_ID, FrameReader, Received, build_frame
from ..taskbuffer import NEED_RESULT, TaskStatus, parse_host, reply

log = logging.getLogger(__name__)

#: a packet not finished this long after its last byte is taken as cut [?]: the v2 manual's
#: T1 (500 ms); no v3 figure is in the sources
FRAME_TIMEOUT = 0.5
#: results kept for unacknowledged tasks before the buffer reports overflow (B1) [?]
BUFFER_SIZE = 32

#: the handler runs one task (password + command + data) and says whether the answer is a
#: success (A3/A6) or an error answer (A4/A7)
TaskHandler = Callable[[bytes], tuple[bool, bytes]]


@dataclass(frozen=True)
class LinkOptions:
    """The register's choices where the reference has no answer yet (atol.md §9)."""

    #: "async": A1 on the ADD, then F0 A6/A7; "sync": A3/A4 and the answer on the ADD's id
    results: str = "async"
    #: the status byte sent back on an ABORT's packet id, None for no reply
    abort_reply: int | None = None
    #: the status byte sent back on an ACK's packet id, None for no reply
    ack_reply: int | None = None
    #: whether C5 (acknowledge + add) is understood; otherwise it gets B4
    accept_ack_add: bool = False

    @classmethod
    def parse(cls, text: str) -> LinkOptions:
        """``results=sync,abort_reply=A1,ack_add`` (the emulator's ``--atol`` option)."""
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, _eq, value = item.partition("=")
            if key == "results":
                if value not in ("async", "sync"):
                    raise ValueError(f"results={value}: async or sync")
                values["results"] = value
            elif key in ("abort_reply", "ack_reply"):
                values[key] = None if value in ("", "none") else int(value, 16)
            elif key in ("ack_add", "accept_ack_add"):
                values["accept_ack_add"] = value in ("", "1", "yes", "true")
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
        self.bytes_in = 0
        self.bytes_out = 0
        self._reader = FrameReader()
        self._last_rx = 0.0
        self._inbox: deque[tuple[float, int]] = deque()
        self._in_free = 0.0
        self._tasks: OrderedDict[int, _Task] = OrderedDict()
        self._sent: dict[int, bytes] = {}  # our last packet per id, for "send it again"
        self._outq = bytearray()
        self._segments: deque[int] = deque()
        self._out_start = 0.0
        self._out_free = 0.0
        self._cut_after: int | None = None

    @property
    def spec(self) -> Any:
        return self.faults.spec

    # --- input ----------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        self.bytes_in += len(data)
        if self.faults.is_silent(now):
            return
        data = self.faults.inbound(data)
        bt = self.spec.byte_time
        if not bt:
            for byte in data:
                self._inbox.append((now, byte))
            return
        for byte in data:
            arrival = max(now, self._in_free) + bt
            self._in_free = arrival
            self._inbox.append((arrival, byte))

    def poll(self, now: float) -> bytes:
        """Advance to ``now``: handle what arrived, run due tasks, return bytes to write."""
        if self._inbox:
            chunk = bytearray()
            at = now
            while self._inbox and self._inbox[0][0] <= now:
                at, byte = self._inbox.popleft()
                chunk.append(byte)
            if chunk:
                self._last_rx = at
                self._reader.feed(bytes(chunk))
                while (frame := self._reader.next()) is not None:
                    self._packet(frame, at)
        if self._reader.pending and now >= self._last_rx + FRAME_TIMEOUT:
            cut = self._reader.cut()
            if cut is not None:
                self._packet(cut, now)
        for task in list(self._tasks.values()):
            if not task.done and task.ready_at <= now:
                self._finish(task, task.ready_at)
        return self._release(now)

    def next_deadline(self) -> float | None:
        times: list[float] = []
        if self._inbox:
            # once for what has come in so far, not once a byte: the host writes a packet
            # (or an ACK and the next ADD) in one go, and nothing is due before its end
            times.append(self._inbox[-1][0])
        if self._reader.pending:
            times.append(self._last_rx + FRAME_TIMEOUT)
        times += [t.ready_at for t in self._tasks.values() if not t.done]
        if self._outq:
            times.append(self._out_start + self._segments[0] * self.spec.byte_time)
        return min(times) if times else None

    # --- packets --------------------------------------------------------------------------

    def _packet(self, frame: Received, at: float) -> None:
        if frame.data is None:
            if frame.packet_id != ASYNC_ID:
                self._emit(build_frame(frame.packet_id, b""), at)  # "send it again"
            return
        if not frame.data:
            again = self._sent.get(frame.packet_id)
            if again is not None:
                self._emit(again, at)
            return
        if self.faults.refuse_frame():
            self._emit(build_frame(frame.packet_id, b""), at)  # as if it came damaged
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
            self._cut_after = len(self._outq) + 4
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
        self._sent[packet_id] = frame
        self._emit(frame, at)

    def _emit(self, data: bytes, at: float) -> None:
        data = self.faults.outbound(data)
        if not data:
            return
        if not self._outq:
            self._out_start = max(at, self._out_free)
        self._outq += data
        self._segments.append(len(data))

    def _release(self, now: float) -> bytes:
        if not self._outq:
            return b""
        bt = self.spec.byte_time
        if bt:
            on_the_wire = int((now - self._out_start) / bt + 1e-9)
            count = 0
            for size in self._segments:  # whole packets only
                if count + size > on_the_wire:
                    break
                count += size
            if not count:
                return b""
        else:
            count = len(self._outq)
        left = count
        while left and self._segments:
            if self._segments[0] <= left:
                left -= self._segments.popleft()
            else:
                self._segments[0] -= left
                left = 0
        if self._cut_after is not None and count >= self._cut_after:
            out = bytes(self._outq[:self._cut_after])
            self.bytes_out += len(out)
            self._outq.clear()
            self._segments.clear()
            self._cut_after = None
            self.disconnect_requested = True
            self._tasks.clear()
            return out
        out = bytes(self._outq[:count])
        self.bytes_out += count
        del self._outq[:count]
        if self._cut_after is not None:
            self._cut_after -= count
        self._out_start += count * bt
        self._out_free = self._out_start
        return out
