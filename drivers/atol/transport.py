"""The host side of transport v3 and its task buffer (atol.md §2), over a pyserial-like port.

:meth:`Transport.execute` runs one task: ADD it (flags NeedResult), then read packets until
its result comes, synchronously (``A3``/``A4`` on the ADD's packet id) or asynchronously
(``A6``/``A7 tid`` on packet id 0xF0), then ACK it. While nothing comes it asks with REQ.
Every loop is bounded by the command's timeout and by the resend count.

What makes it safe on a faulty line (a task never runs twice, a result is never taken for
another task):

- The register handles our packets in the order they arrive and answers them in that order,
  so its reply on one of our packet ids proves every packet we sent before it was handled
  ("settled"). An empty packet from the register ("send it again", atol.md §2.1) makes us
  send that packet again only while it is unsettled: a request naming a packet already
  answered came from another packet whose id was damaged on the line. This holds for the
  ACK sent together with the next ADD as much as for the ADD: an ACK refused and never sent
  again would leave its result in the buffer, and 224 tasks later the tid's next task
  would meet it.
- A damaged packet from the register is not asked for again with an empty packet (our
  empty packet, damaged in turn, would be answered with an empty one of the same id, which
  reads as "send your ADD again"): the task's state is asked with REQ instead, which names
  the task and cannot be mistaken.
- Each round of task ids starts with ABORT (atol4j sends it on connect, [C]): it clears
  what an earlier session left and any result whose ACK vanished without a trace on this
  line (its STX lost: the register never saw a packet), before the tid comes round again.
  So B2 on a first ADD is such a leftover (freed with an ACK, the task added again), and a
  REQ's result is the task's own. The one case left ambiguous, B2 on an ADD we sent twice
  while its task is already done, is refused loudly (the result freed), never guessed.

**The next task at once.** A caller that knows from a result which task comes next (the
next A4 46 while the document's length is not reached) passes ``follow``: its ADD goes at
once, with the ACK of the result in the same write, before the result travels up the
driver. It is the ADD the next :meth:`Transport.execute` would send, only sooner; that call,
with the same task bytes, runs it on from there under every rule above. If another task
comes instead, or :meth:`Transport.flush` or :meth:`Transport.abort` is called first, the
task sent ahead is run to its end first and its result dropped (acknowledged).
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from kkt_bridge.errors import KktBridgeError, LinkClosedError, LinkTimeoutError, ProtocolError
from kkt_bridge.i18n import _
from kkt_bridge.link.direct import port_calls

from . import taskbuffer
from .errors import TaskBufferError
from .frame import ASYNC_ID, FrameReader, Received, build_frame, next_packet_id
from .taskbuffer import FINISHED, UNFINISHED, TaskStatus

#: how long the port's read may block: the loops check their deadlines this often
BYTE_TIMEOUT = 0.05
#: how long to wait for any packet before asking the task's state with REQ
POLL_INTERVAL = 0.5
#: how often one packet is sent again on the register's request, and how often a task is
#: added again after the buffer lost it (B3) or held a leftover (B2), before we give up
RESENDS = 5
#: damaged packets in a row from the register, within one task, before we give up
DAMAGED_IN_A_ROW = 8
#: packets kept unsettled for the register's "send it again"
SENT_KEPT = 8
#: the first task id of a round: the round starts with ABORT
FIRST_TID = 1
#: the most a read of a tty's descriptor takes at once: all that waits, as ``in_waiting`` gave
READ_SIZE = 4096


class SerialPort(Protocol):
    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...


class _Sent:
    __slots__ = ("frame", "resendable", "resent")

    def __init__(self, frame: bytes, resendable: bool) -> None:
        self.frame = frame
        self.resendable = resendable
        self.resent = 0


class _Task:
    """What the host knows of one task while it runs."""

    __slots__ = ("add_sent", "adds", "asked", "held", "in_buffer", "last_add", "old",
                 "probe", "readds", "reqs", "sent_twice", "tid")

    def __init__(self, tid: int) -> None:
        self.tid = tid
        self.adds: set[int] = set()  # packet ids of our ADDs of it
        #: packet ids of our REQs of it sent after its last ADD went: only their replies
        #: tell the state of that ADD's task
        self.reqs: set[int] = set()
        self.old: set[int] = set()  # REQs sent before: their replies are read and dropped
        self.last_add = -1
        self.add_sent: _Sent | None = None  # the last ADD, to send it again
        self.in_buffer = False  # the register said it holds our ADD (A1/A2/A8)
        self.sent_twice = False  # an ADD of it went again on the register's request
        self.probe: int | None = None  # the REQ asking whose task a B2 named
        #: a REQ's result while we do not know that the task with this tid is ours
        self.held: tuple[int, bytes] | None = None
        self.asked: int | None = None  # the ADD whose reply we asked for again
        self.readds = 0

    @property
    def ours(self) -> set[int]:
        return self.adds | self.reqs | self.old

    def add_went(self) -> None:
        """The last ADD went (again): what was asked before it is out of date."""
        self.old |= self.reqs
        self.reqs = set()
        self.probe = self.asked = None
        self.held = None


class Transport:
    """One task at a time over one port (the caller serialises access)."""

    def __init__(self, port: SerialPort, *, byte_timeout: float = BYTE_TIMEOUT,
                 poll_interval: float = POLL_INTERVAL, resends: int = RESENDS,
                 ack_add: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if port.timeout != byte_timeout:
            port.timeout = byte_timeout  # reconfiguring a real port is a syscall: once
        self.port = port
        #: acknowledge a result together with the next ADD in one C5 packet: its layout is
        #: [?] (:class:`~.taskbuffer.BufferCommand`), so only for a register known to take it
        self.ack_add = ack_add
        self._deferred_ack: int | None = None  # the tid whose ACK alone is deferred
        self.poll_interval = poll_interval
        self.resends = resends
        self._clock = clock
        self._reader = FrameReader()
        self._packet_id = 0  # the last id used: the first packet is 1
        self._tid = 0
        #: packets sent and not yet proven handled, oldest first
        self._unsettled: OrderedDict[int, _Sent] = OrderedDict()
        self._deferred = bytearray()
        self._deferred_ids: list[int] = []
        self.heard = False  # any well-formed packet arrived on this link
        #: the task sent ahead (``follow``): its bytes, its run, its timeout
        self._ahead: tuple[bytes, _Task, float] | None = None

    @property
    def port(self) -> SerialPort:
        return self._port

    @port.setter
    def port(self, port: SerialPort) -> None:
        # a tty's descriptor and a socket:// port's socket are read and written directly
        # (kkt_bridge.link.direct): one poll and one read of all that waits (the frame
        # reader keeps what comes past a frame), where pyserial asked in_waiting (an ioctl,
        # or a select on a socket), then selected for each piece; any other port through
        # its own methods
        self._port = port
        calls = port_calls(port, sockets=True)
        self._direct_read = calls.direct.read if calls.direct else None
        self._send = calls.write

    # --- sending --------------------------------------------------------------------------

    def send(self, payload: bytes, *, defer: bool = False, resendable: bool = True) -> int:
        """Send one packet with the next id; return the id. A deferred packet (the ACK of a
        result) goes out with the next one or at :meth:`flush`: the same bytes in one write,
        so the register's line wakes once for the ACK and the next task."""
        self._packet_id = packet_id = next_packet_id(self._packet_id)
        frame = build_frame(packet_id, payload)
        if defer:
            self._deferred += frame
            self._deferred_ids.append(packet_id)
        else:
            # the write first: keeping the packet for "send it again" is no reason for the
            # line to wait (a write that fails closes the link, and the packet with it)
            self._write(frame)
        unsettled = self._unsettled
        unsettled.pop(packet_id, None)
        unsettled[packet_id] = _Sent(frame, resendable)
        while len(unsettled) > SENT_KEPT:
            unsettled.popitem(last=False)
        return packet_id

    def flush(self) -> None:
        """Write a deferred ACK now (before the link is closed or left idle)."""
        self._finish_ahead()
        if self._deferred:
            self._write(b"")

    def abort(self) -> None:
        """ABORT: the register drops every task. Its reply, if any, is not awaited (atol.md
        §9 question 2): whatever comes is skipped by packet id like any stale packet."""
        self._finish_ahead()
        self.send(taskbuffer.abort())

    def next_tid(self) -> int:
        self._tid = next_packet_id(self._tid)
        return self._tid

    # --- one task -------------------------------------------------------------------------

    def execute(self, task: bytes, timeout: float, *,
                follow: Callable[[int, bytes], bytes | None] | None = None,
                ) -> tuple[int, bytes]:
        """Run ``task`` (password + command + data); return (status, the command's answer).

        The status is A3/A6 for a result, A4/A7 for an error answer (the command layer reads
        the code from the answer). Raises LinkTimeoutError when the register stays silent for
        ``timeout``, TaskBufferError when the buffer refuses the task, ProtocolError when
        its packets keep arriving damaged, LinkClosedError when the port fails.
        ``follow``: given the status and the answer, the task that comes next, or None (see
        the module text).
        """
        ahead = self._ahead
        if ahead is not None and ahead[0] is not task:
            self._finish_ahead()  # another task came: the one sent ahead ends first
            ahead = None
        self._ahead = None
        run = ahead[1] if ahead is not None else self._start(task)
        result = self._finish(run, task, timeout)
        if follow is not None:
            after = follow(*result)
            if after is not None:
                self._ahead = (after, self._start(after), timeout)
        return result

    def _start(self, task: bytes) -> _Task:
        """A new task id, and the task's ADD sent (with any deferred ACK)."""
        run = _Task(self.next_tid())
        if run.tid == FIRST_TID:
            self._drop_deferred()  # ABORT frees the last result as its ACK would
            # one write with the ADD; never sent again, as that could drop the task the
            # ADD after it added: it only tidies up, nothing relies on it having arrived
            self.send(taskbuffer.abort(), defer=True, resendable=False)
        self._add(run, task)
        return run

    def _finish(self, run: _Task, task: bytes, timeout: float) -> tuple[int, bytes]:
        try:
            return self._run(run, task, timeout)
        finally:
            # a finished task's packets are never sent again: an ADD of it that went twice
            # and was damaged on the way must not run it a second time
            for packet_id in run.ours:
                self._unsettled.pop(packet_id, None)

    def _finish_ahead(self) -> None:
        """The task sent ahead was not asked for: run it to its end and drop its result
        (acknowledged like any other). A failure is the next task's to meet: its tid's
        leftover is what B2 and the next round's ABORT are there for."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return
        task, run, timeout = ahead
        with contextlib.suppress(KktBridgeError, OSError):
            self._finish(run, task, timeout)

    def _run(self, run: _Task, task: bytes, timeout: float) -> tuple[int, bytes]:
        deadline = self._clock() + timeout
        poll_at = self._clock() + self.poll_interval
        damaged = 0
        while True:
            got = self._read(min(deadline, poll_at))
            now = self._clock()
            if got is None:
                if run.asked is not None and run.held is not None:
                    # the register does not know our ADD: it never got it, and the result
                    # the REQ found is a leftover; or it got it and forgot the reply. Free
                    # the tid and say so rather than guess
                    self.send(taskbuffer.ack(run.tid))
                    raise ProtocolError(
                        _("ККТ АТОЛ: в буфере есть результат задания {tid}, но не понять, "
                          "это наше задание или оставшееся от прежнего").format(tid=run.tid),
                        _("повторите команду; если ошибка повторяется, проверьте кабель"))
                if now >= deadline:
                    raise LinkTimeoutError(
                        _("ККТ АТОЛ не ответила на задание {tid} за {seconds:.0f} с").format(
                            tid=run.tid, seconds=timeout),
                        _("проверьте кабель, питание ККТ и скорость порта"))
                run.reqs.add(self.send(taskbuffer.req(run.tid)))
                poll_at = now + self.poll_interval
                continue
            poll_at = now + self.poll_interval
            if got.data is None:
                damaged += 1
                if damaged > DAMAGED_IN_A_ROW:
                    raise ProtocolError(
                        _("ККТ АТОЛ {count} раз подряд прислала повреждённый пакет").format(
                            count=damaged),
                        _("проверьте кабель: пакеты искажаются по дороге"))
                if run.last_add in self._unsettled or run.asked is not None:
                    # the reply to our ADD came damaged (its id may be damaged too, so
                    # the id we expect is asked for): only the register's copy of that
                    # reply says whether the task is in the buffer; a REQ could find a
                    # result an earlier task left with this tid
                    self._ask_again(run)
                else:
                    run.reqs.add(self.send(taskbuffer.req(run.tid)))
                continue
            damaged = 0
            if got.packet_id != ASYNC_ID:
                if not got.data:
                    self._send_again(got.packet_id, run)
                    continue
                self._settle(got.packet_id, including=True)
            try:
                packet = taskbuffer.parse_kkt(got.data)
            except ProtocolError:
                continue  # a one-byte F0 packet without its tid: nothing to match
            if got.packet_id == ASYNC_ID:
                if packet.status in FINISHED and packet.tid is not None:
                    # ours (a result is pushed once, when its task ends) or one an earlier
                    # task left: free it (ours goes out with the next packet)
                    if packet.tid == run.tid:
                        return self._result(run, packet.status, packet.answer)
                    self.send(taskbuffer.ack(packet.tid))
                continue
            packet_id = got.packet_id
            if packet_id not in run.adds and packet_id not in run.reqs \
                    and packet_id not in run.old:  # run.ours, without building the union
                continue  # a reply to a packet of an earlier task, to an ACK or ABORT
            if got.packet_id == run.asked:
                run.asked = None
            result = self._reply(run, got.packet_id, packet.status, bytes(packet.answer), task)
            if result is not None:
                return result

    def _add(self, run: _Task, task: bytes, *, defer: bool = False) -> None:
        if self.ack_add and self._deferred_ack is not None and len(self._deferred_ids) == 1:
            payload = taskbuffer.ack_add(self._deferred_ack, run.tid, task)
            self._drop_deferred()  # its ACK goes inside this packet
        else:
            payload = taskbuffer.add(run.tid, task)
        run.last_add = self.send(payload, defer=defer)
        run.add_sent = self._unsettled[run.last_add]
        run.adds.add(run.last_add)
        run.in_buffer = run.sent_twice = False
        run.add_went()

    def _ask_again(self, run: _Task) -> None:
        """Our empty packet with the last ADD's id: the register repeats its reply to it."""
        run.asked = run.last_add
        self._write(build_frame(run.last_add, b""))

    def _reply(self, run: _Task, packet_id: int, status: int, answer: bytes,
               task: bytes) -> tuple[int, bytes] | None:
        """The register's status on one of this task's packets: the result, or None to read
        on; raises the buffer's refusal."""
        if packet_id != run.last_add and packet_id not in run.reqs:
            return None  # about an ADD sent again since, or asked before it went
        if status in UNFINISHED or (status in FINISHED and packet_id == run.last_add):
            run.in_buffer = True
            if run.held is not None:
                # the reply to our ADD, asked again, says the task is ours: so is the result
                # a REQ found
                answer_now, run.held = run.held, None
                return self._result(run, *answer_now)
            return self._result(run, status, answer) if status in FINISHED else None
        if status in FINISHED:  # on a REQ of ours
            if run.in_buffer:
                return self._result(run, status, answer)
            if packet_id == run.probe:
                # B2 on an ADD sent twice, and the task with this tid is done: ours (the
                # register asked for the ADD by a damaged id) or a leftover (it refused the
                # ADD); taking a leftover's result or running ours twice would both be
                # wrong, so free it and refuse loudly: the caller may repeat the command
                self.send(taskbuffer.ack(run.tid))
                raise TaskBufferError.of(TaskStatus.ALREADY_EXISTS, run.tid)
            # no reply to our ADD was read: the result may be a leftover's; the register's
            # copy of that reply decides
            run.held = (status, answer)
            self._ask_again(run)
            return None
        if status == TaskStatus.NOT_FOUND and packet_id in run.reqs:
            if any(a in self._unsettled for a in run.adds):
                return None  # an ADD of it sent after this REQ is still on its way
            if run.readds < self.resends:
                # the register never got the ADD (lost on the line, or the power failed
                # before it ran; the REQ's reply settled every ADD sent before it): a task
                # leaves the buffer otherwise only by our ACK, so adding it again cannot
                # run it twice
                run.readds += 1
                self._add(run, task)
                return None
        if status == TaskStatus.ALREADY_EXISTS and packet_id == run.last_add:
            if run.in_buffer:
                return None  # an ADD of ours that went twice: the task is there, read on
            if run.sent_twice:
                # our ADD went twice, so this may be our own task: ask, do not guess
                run.probe = self.send(taskbuffer.req(run.tid))
                run.reqs.add(run.probe)
                run.sent_twice = False
                run.held = None
                return None
            if run.readds < self.resends:
                # a result left with this tid (an earlier session's, or ours whose ACK was
                # lost): free it and add the task again, in one write
                run.readds += 1
                self.send(taskbuffer.ack(run.tid), defer=True)
                self._add(run, task)
                return None
        raise TaskBufferError.of(status, run.tid)

    def _result(self, run: _Task, status: int, answer: bytes) -> tuple[int, bytes]:
        alone = not self._deferred
        self.send(taskbuffer.ack(run.tid), defer=True)
        self._deferred_ack = run.tid if alone else None
        return status, answer

    def _send_again(self, packet_id: int, run: _Task) -> None:
        """The register asks for ``packet_id`` again: send it if it is still unsettled (or
        it is the ADD whose reply we asked for, and the reply was "send it again")."""
        sent = self._unsettled.get(packet_id)
        if sent is None and packet_id == run.asked:
            # the ADD was refused, and this repeats the refusal (or our empty packet came
            # damaged: then the ADD goes twice, which B2 and the probe sort out)
            sent = run.add_sent
        if sent is None or not sent.resendable:
            return  # answered already: the request names a packet whose id was damaged
        self._settle(packet_id, including=False)
        if sent.resent >= self.resends:
            raise ProtocolError(
                _("ККТ АТОЛ {count} раз попросила повторить пакет {id}").format(
                    count=sent.resent, id=packet_id),
                _("проверьте кабель: пакеты искажаются по дороге"))
        sent.resent += 1
        self._unsettled[packet_id] = sent
        self._unsettled.move_to_end(packet_id)  # it goes after what we sent since
        if packet_id == run.last_add:
            run.sent_twice = True
            run.add_went()
        self._write(sent.frame)

    def _settle(self, packet_id: int, *, including: bool) -> None:
        """The register answered ``packet_id``: it handled every packet sent before it."""
        if packet_id not in self._unsettled:
            return
        while self._unsettled:
            first = next(iter(self._unsettled))
            if first == packet_id and not including:
                return
            self._unsettled.popitem(last=False)
            if first == packet_id:
                return

    def _drop_deferred(self) -> None:
        for packet_id in self._deferred_ids:
            self._unsettled.pop(packet_id, None)
        self._deferred.clear()
        self._deferred_ids.clear()
        self._deferred_ack = None

    # --- reading --------------------------------------------------------------------------

    def _read(self, until: float) -> Received | None:
        """The next frame (whole or damaged) before ``until``, or None."""
        reader = self._reader
        while True:
            got = reader.next()
            if got is not None:
                if got.data is not None:
                    self.heard = True
                return got
            try:
                if self._direct_read is not None:
                    chunk = self._direct_read(READ_SIZE)
                else:
                    chunk = self.port.read(max(reader.needed(), self._waiting()))
            except OSError as exc:  # serial.SerialException is an OSError too
                raise self._closed(exc) from exc
            if chunk:
                reader.feed(chunk)
                continue
            if reader.pending:  # a byte timeout of silence inside a frame: it was cut
                cut = reader.cut()
                if cut is not None:
                    return cut
            if self._clock() >= until:
                return None

    def drain(self, quiet: float) -> None:
        """Read and drop whatever arrives until the line has been quiet for ``quiet``."""
        until = self._clock() + quiet
        while self._clock() < until:
            if self._read(until) is not None:
                until = self._clock() + quiet

    def _waiting(self) -> int:
        try:
            return int(getattr(self.port, "in_waiting", 0) or 0)
        except (OSError, ValueError):
            return 0

    def _write(self, frame: bytes) -> None:
        if self._deferred:
            frame = bytes(self._deferred) + frame
            self._deferred.clear()
            self._deferred_ids.clear()
            self._deferred_ack = None
        try:
            self._send(frame)
        except OSError as exc:
            raise self._closed(exc) from exc

    @staticmethod
    def _closed(exc: BaseException) -> LinkClosedError:
        return LinkClosedError(
            _("связь с ККТ АТОЛ прервана: {reason}").format(reason=exc),
            _("проверьте кабель или сеть; ККТ АТОЛ обслуживает одно подключение: закройте "
              "другие программы, работающие с ней, и повторите"))


__all__ = [
    "BYTE_TIMEOUT",
    "POLL_INTERVAL",
    "RESENDS",
    "SerialPort",
    "TaskStatus",
    "Transport",
]
