"""What one exchange is on an ATOL link (transport v3): the driver's rules for the shared port.

The core's shared port (:mod:`kkt_bridge.share`) forwards the cash software's bytes to the
register unchanged and asks an :class:`AtolTracker` whether the exchange in hand is over. The
tracker cuts both directions into frames with the driver's own :class:`.frame.FrameReader`
and reads each packet with the task-buffer declarations of :mod:`.taskbuffer`:

- the host's ADD (``C1 flags tid task``) opens a task: the exchange lasts through the
  register's synchronous replies on the ADD's (or a REQ's) packet id, ``A1``/``A2``/``A8``
  "not yet", ``A3``/``A4`` with the answer, or the asynchronous result (packet id F0,
  ``A6``/``A7 tid answer``), until the host's ACK (``C2 tid``) frees the task; the buffer
  holds one program's tasks at a time, so the bridge's ADD or ABORT never comes in between;
- a refusal of the buffer (``B1``..``B4``) ends the task: the host's reaction (ACK of a stale
  tid and the ADD again, on B2) follows at once and is a new exchange;
- a lone REQ (``C3 tid``) lasts until its reply; ABORT (``C4``) and a lone ACK are answered
  by no packet (atol.md §9 question 2) and end at once;
- an empty packet ("send it again") or a damaged one from either side keeps the exchange
  open until the packet comes again; a frame whose bytes stop coming is abandoned after
  :data:`FRAME_GAP`;
- ``A4 45`` opens a stateful document read that ``A4 46`` continues: the exchange lasts
  :data:`SEQUENCE_GAP` after each successful step, so the bridge's own ``A4 45`` cannot
  reset the cash software's read.

Each task's deadline is its command's declared answer time (:mod:`.commands`); the commands
that make a fiscal document (:data:`DOCUMENT_CLOSERS`) are reported when the host
acknowledged their result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kkt_bridge.errors import ProtocolError
from kkt_bridge.share.rules import Completed

from . import taskbuffer
from .commands import fn as fn_cmds
from .commands import receipt as receipt_cmds
from .commands.base import DEFAULT_TIMEOUT, AnswerKind, Command, lookup
from .frame import ASYNC_ID, FrameReader, Received
from .taskbuffer import FINISHED, UNFINISHED, BufferCommand, TaskStatus
from .transport import Transport

#: commands whose success makes a fiscal document in the ФН: the bridge exports at once
DOCUMENT_CLOSERS = frozenset(cmd.code for cmd in (
    receipt_cmds.CLOSE_RECEIPT,
    receipt_cmds.OPEN_SHIFT,
    receipt_cmds.Z_REPORT,
))

#: a stateful read: the first command opens it, the second continues it
READ_OPEN = fn_cmds.DOCUMENT_TLV.code
READ_NEXT = fn_cmds.READ_TLV.code

#: how long the register takes to answer a buffer command that has no task time of its own
#: (REQ, a packet asked for again): transport v3's packet answer time, with the line's delay
CONTROL_TIME = 0.5
#: how long a host may take to acknowledge a result it has in hand
HOST_REPLY_TIME = 1.0
#: the longest pause between two commands of one stateful read
SEQUENCE_GAP = 0.5
#: a frame whose bytes stop coming for this long is abandoned (bytes reach the bridge later
#: than they left, so this is longer than the register's own inter-byte time)
FRAME_GAP = 0.25
#: how quiet the line must stay before the register is idle again after the bridge's failure
SETTLE_QUIET = 0.2


@dataclass
class _Task:
    """A task of the host in the register's buffer."""

    tid: int
    command: Command | None
    deadline: float
    result: tuple[int, bytes] | None = None  # status and answer once they reached the host


class _Side:
    """One direction's frames, with the time of its last byte (to abandon a cut frame)."""

    def __init__(self) -> None:
        self.reader = FrameReader()
        self.last = 0.0

    def feed(self, data: bytes, now: float) -> list[Received]:
        frames: list[Received] = []
        if self.reader.pending and now - self.last > FRAME_GAP:
            self._cut(frames)
        self.last = now
        self.reader.feed(data)
        while (got := self.reader.next()) is not None:
            frames.append(got)
        return frames

    def partial(self, now: float) -> bool:
        return bool(self.reader.pending) and now - self.last <= FRAME_GAP

    @property
    def expires(self) -> float | None:
        return self.last + FRAME_GAP if self.reader.pending else None

    def _cut(self, frames: list[Received]) -> None:
        cut = self.reader.cut()
        if cut is not None:
            frames.append(cut)


def answer_error(command: Command | None, status: int, answer: bytes) -> int:
    """The register's error code in a task's answer (0 = done), as the command declares it."""
    if status in (TaskStatus.ERROR, TaskStatus.ASYNC_ERROR) and not answer:
        return 0xFF
    kind = command.kind if command else AnswerKind.GENERIC
    if kind is AnswerKind.ERROR_FIRST:
        return answer[0] if answer else 0xFF
    if kind is AnswerKind.OWN and command is not None and answer[:1] == bytes([command.own]):
        return 0
    if len(answer) >= 2 and answer[0] == 0x55:
        return answer[1]
    return 0xFF if status in (TaskStatus.ERROR, TaskStatus.ASYNC_ERROR) else 0


class AtolTracker:
    """One cash program's conversation with an ATOL register (see the module text)."""

    def __init__(self) -> None:
        self._host = _Side()
        self._device = _Side()
        self._tasks: dict[int, _Task] = {}
        #: host packet ids a reply is due to: the moment the wait ends, and the task asked
        self._pending: dict[int, tuple[float, int | None]] = {}
        self._sequence_until = 0.0
        self._done: list[Completed] = []

    # --- the core's side ------------------------------------------------------------------

    def from_host(self, data: bytes, now: float) -> bytes:
        for frame in self._host.feed(data, now):
            self._host_frame(frame, now)
        return data

    def from_device(self, data: bytes, now: float) -> bytes:
        for frame in self._device.feed(data, now):
            self._device_frame(frame, now)
        return data

    def busy(self, now: float) -> bool:
        self._expire(now)
        if self._host.partial(now) or self._device.partial(now):
            return True
        return bool(self._tasks or self._pending) or now < self._sequence_until

    def deadline(self) -> float | None:
        times = [side.expires for side in (self._host, self._device) if side.expires]
        times += [task.deadline for task in self._tasks.values()]
        times += [until for until, _tid in self._pending.values()]
        if self._sequence_until:
            times.append(self._sequence_until)
        return min(times) if times else None

    def completed(self) -> list[Completed]:
        done, self._done = self._done, []
        return done

    def _expire(self, now: float) -> None:
        """The host or the register gave up what is past its deadline."""
        for tid in [tid for tid, task in self._tasks.items() if now >= task.deadline]:
            del self._tasks[tid]
        for pid in [pid for pid, (until, _tid) in self._pending.items() if now >= until]:
            del self._pending[pid]

    # --- the host's packets -----------------------------------------------------------------

    def _host_frame(self, frame: Received, now: float) -> None:
        if frame.data is None:
            # a damaged packet: the register asks for it again, the host sends it again
            self._wait(frame.packet_id, now + CONTROL_TIME)
            return
        if not frame.data:
            # "send it again": the register repeats its packet of that id (an F0 result is
            # still matched by its tid when it comes)
            self._wait(frame.packet_id, now + CONTROL_TIME)
            return
        try:
            packet = taskbuffer.parse_host(frame.data)
        except ProtocolError:
            return  # no buffer command: the register ignores it
        command = packet.command
        if command == BufferCommand.ACK.name:
            self._acknowledged(packet.args.tid, now)
        elif command == BufferCommand.ADD.name:
            self._added(frame.packet_id, packet.args, now)
        elif command == BufferCommand.ACK_ADD.name:
            self._acknowledged(packet.args.ack_tid, now)
            self._added(frame.packet_id, packet.args.add, now)
        elif command == BufferCommand.REQ.name:
            self._pending[frame.packet_id] = (now + CONTROL_TIME, packet.args.tid)
        elif command == BufferCommand.ABORT.name:
            self._tasks.clear()  # the register drops every task and answers nothing
            self._pending.clear()

    def _added(self, packet_id: int, args: Any, now: float) -> None:
        task = bytes(args.task)
        command = lookup(task)
        timeout = command.timeout if command else DEFAULT_TIMEOUT
        code = command.code if command else b""
        if code not in (READ_OPEN, READ_NEXT):
            self._sequence_until = 0.0  # another command ends a stateful read
        self._tasks[args.tid] = _Task(args.tid, command, now + timeout + CONTROL_TIME)
        self._pending[packet_id] = (now + timeout + CONTROL_TIME, args.tid)

    def _acknowledged(self, tid: int, now: float) -> None:
        task = self._tasks.pop(tid, None)
        if task is None or task.result is None:
            return  # a stale result of an earlier session freed: no command of this one
        status, answer = task.result
        command = task.command
        code = command.code if command else b""
        error = answer_error(command, status, answer)
        self._done.append(Completed(command=code.hex().upper() or "?", error=error,
                                    closes_document=code in DOCUMENT_CLOSERS))
        if error == 0 and code in (READ_OPEN, READ_NEXT):
            self._sequence_until = now + SEQUENCE_GAP
        else:
            self._sequence_until = 0.0

    # --- the register's packets -------------------------------------------------------------

    def _device_frame(self, frame: Received, now: float) -> None:
        if frame.data is None or not frame.data:
            # damaged (the host asks again) or "send it again" (the host repeats its packet)
            if frame.packet_id != ASYNC_ID:
                self._wait(frame.packet_id, now + CONTROL_TIME)
            return
        try:
            packet = taskbuffer.parse_kkt(frame.data)
        except ProtocolError:
            return
        if frame.packet_id == ASYNC_ID:
            task = self._tasks.get(packet.tid) if packet.tid is not None else None
            if task is not None and packet.status in FINISHED:
                self._result(task, packet.status, bytes(packet.answer), now)
            return
        waited = self._pending.pop(frame.packet_id, None)
        if waited is None:
            return  # a late reply nobody waits for
        status = packet.status
        task = self._tasks.get(waited[1]) if waited[1] is not None else None
        if task is None:
            return
        if status in FINISHED:
            self._result(task, status, bytes(packet.answer), now)
        elif status in UNFINISHED:
            pass  # the host asks again with REQ; the task's own deadline holds
        else:
            # refused by the buffer: the task is not the host's (any more)
            self._tasks.pop(task.tid, None)

    def _wait(self, packet_id: int, until: float) -> None:
        """A packet of ``packet_id`` is to come again: the wait lasts at least ``until``."""
        known = self._pending.get(packet_id)
        if known is None:
            self._pending[packet_id] = (until, None)
        else:
            self._pending[packet_id] = (max(known[0], until), known[1])

    def _result(self, task: _Task, status: int, answer: bytes, now: float) -> None:
        task.result = (status, answer)
        task.deadline = now + HOST_REPLY_TIME


class AtolExchangeRules:
    """The ATOL driver's :class:`~kkt_bridge.share.rules.ExchangeRules`."""

    def tracker(self) -> AtolTracker:
        return AtolTracker()

    def open_port(self, url: str, baudrate: int | None) -> Any:
        from .plugin import open_port

        return open_port(url, baudrate=baudrate)

    def kkt_on_port(self, port: Any) -> Any:
        from .driver import AtolKkt

        # no ``port=``: closing this register must not close the owner's port
        return AtolKkt(Transport(port))

    def settle(self, port: Any) -> None:
        # a result the bridge's task left behind is read and dropped; its tid is freed by
        # the bridge's driver when it meets B2 on reuse
        Transport(port).drain(SETTLE_QUIET)


__all__ = ["DOCUMENT_CLOSERS", "AtolExchangeRules", "AtolTracker", "answer_error"]
