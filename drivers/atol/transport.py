"""The host side of transport v3 and its task buffer (atol.md §2), over a pyserial-like port.

:meth:`Transport.execute` runs one task: ADD it (flags NeedResult), then read packets until
its result comes, synchronously (``A3``/``A4`` on the ADD's packet id) or asynchronously
(``A6``/``A7 tid`` on packet id 0xF0), then ACK it. While nothing comes it asks with REQ.
A damaged packet is answered with an empty one carrying its id ("send it again"); an empty
packet from the register carrying the id of one of ours makes us send that one again.
Every loop is bounded by the command's timeout and by the resend count.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from kkt_bridge.errors import LinkClosedError, LinkTimeoutError, ProtocolError
from kkt_bridge.i18n import _

from . import taskbuffer
from .errors import TaskBufferError
from .frame import ASYNC_ID, FrameReader, Received, build_frame, next_packet_id
from .taskbuffer import FINISHED, UNFINISHED, TaskStatus

#: how long the port's read may block: the loops check their deadlines this often
BYTE_TIMEOUT = 0.05
#: how long to wait for any packet before asking the task's state with REQ
POLL_INTERVAL = 0.5
#: how often one packet is sent again on the register's request before we give up
RESENDS = 3
#: packets kept for the register's "send it again"
SENT_KEPT = 8


class SerialPort(Protocol):
    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...


class Transport:
    """One task at a time over one port (the caller serialises access)."""

    def __init__(self, port: SerialPort, *, byte_timeout: float = BYTE_TIMEOUT,
                 poll_interval: float = POLL_INTERVAL, resends: int = RESENDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.port = port
        self.poll_interval = poll_interval
        self.resends = resends
        self._clock = clock
        self._reader = FrameReader()
        self._packet_id = 0  # the last id used: the first packet is 1
        self._tid = 0
        self._sent: OrderedDict[int, bytes] = OrderedDict()
        self._deferred = bytearray()
        self.heard = False  # any well-formed packet arrived on this link
        if port.timeout != byte_timeout:
            port.timeout = byte_timeout  # reconfiguring a real port is a syscall: once

    # --- sending --------------------------------------------------------------------------

    def send(self, payload: bytes, *, defer: bool = False) -> int:
        """Send one packet with the next id; return the id. A deferred packet (the ACK of a
        result) goes out with the next one or at :meth:`flush`: the same bytes in one write,
        so the register's line wakes once for the ACK and the next task."""
        self._packet_id = next_packet_id(self._packet_id)
        frame = build_frame(self._packet_id, payload)
        self._sent[self._packet_id] = frame
        self._sent.move_to_end(self._packet_id)
        while len(self._sent) > SENT_KEPT:
            self._sent.popitem(last=False)
        if defer:
            self._deferred += frame
        else:
            self._write(frame)
        return self._packet_id

    def flush(self) -> None:
        """Write a deferred ACK now (before the link is closed or left idle)."""
        if self._deferred:
            self._write(b"")

    def abort(self) -> None:
        """ABORT: the register drops every task. Its reply, if any, is not awaited (atol.md
        §9 question 2): whatever comes is skipped by packet id like any stale packet."""
        self.send(taskbuffer.abort())

    def next_tid(self) -> int:
        self._tid = next_packet_id(self._tid)
        return self._tid

    # --- one task -------------------------------------------------------------------------

    def execute(self, task: bytes, timeout: float) -> tuple[int, bytes]:
        """Run ``task`` (password + command + data); return (status, the command's answer).

        The status is A3/A6 for a result, A4/A7 for an error answer (the command layer reads
        the code from the answer). Raises LinkTimeoutError when the register stays silent for
        ``timeout``, TaskBufferError when the buffer refuses the task, ProtocolError when
        its packets keep arriving damaged, LinkClosedError when the port fails.
        """
        tid = self.next_tid()
        first_add = self.send(taskbuffer.add(tid, task))
        ours = {first_add}
        deadline = self._clock() + timeout
        poll_at = self._clock() + self.poll_interval
        resent = 0
        readds = 0
        # the first ADD may have reached the register twice (we sent it again on request,
        # or it was already acknowledged as queued): then B2 on it names our own task
        doubtful = False
        stale_readd: int | None = None
        while True:
            got = self._read(min(deadline, poll_at))
            now = self._clock()
            if got is None:
                if now >= deadline:
                    raise LinkTimeoutError(
                        _("ККТ АТОЛ не ответила на задание {tid} за {seconds:.0f} с").format(
                            tid=tid, seconds=timeout),
                        _("проверьте кабель, питание ККТ и скорость порта"))
                ours.add(self.send(taskbuffer.req(tid)))
                poll_at = now + self.poll_interval
                continue
            poll_at = now + self.poll_interval
            if got.data is None:
                if got.packet_id != ASYNC_ID:
                    self._write(build_frame(got.packet_id, b""))  # "send it again"
                continue
            if not got.data:
                # only a packet of this task: an id damaged on the line may name an older
                # packet, and sending an old ADD again could run its task twice
                if got.packet_id in ours:
                    resent = self._resend(got.packet_id, resent)
                    doubtful = doubtful or got.packet_id == first_add
                continue
            try:
                packet = taskbuffer.parse_kkt(got.data)
            except ProtocolError:
                continue  # a one-byte F0 packet without its tid: nothing to match
            if got.packet_id == ASYNC_ID:
                if packet.status in FINISHED and packet.tid is not None:
                    # ours or a stale one: free it (ours goes out with the next packet)
                    self.send(taskbuffer.ack(packet.tid), defer=packet.tid == tid)
                    if packet.tid == tid:
                        return packet.status, bytes(packet.answer)
                continue
            if got.packet_id not in ours:
                continue  # a late reply to an earlier packet
            if packet.status in UNFINISHED:
                doubtful = doubtful or got.packet_id == first_add
                continue
            if packet.status in FINISHED:
                self.send(taskbuffer.ack(tid), defer=True)
                return packet.status, bytes(packet.answer)
            if packet.status == TaskStatus.NOT_FOUND and readds < self.resends:
                # the register never got the ADD (lost or damaged on the line): the only
                # way a task leaves the buffer otherwise is our own ACK, so adding it again
                # cannot run it twice
                readds += 1
                ours.add(self.send(taskbuffer.add(tid, task)))
                continue
            if packet.status == TaskStatus.ALREADY_EXISTS:
                if got.packet_id == first_add and not doubtful and stale_readd is None:
                    # a result of an earlier session still holds this tid (a client killed
                    # before its ACK): free it and add the task again, once
                    self.send(taskbuffer.ack(tid))
                    stale_readd = self.send(taskbuffer.add(tid, task))
                    ours.add(stale_readd)
                    continue
                if got.packet_id != stale_readd:
                    continue  # an ADD of ours that went twice: the task is there, poll it
            raise TaskBufferError.of(packet.status, tid)

    def _resend(self, packet_id: int, resent: int) -> int:
        frame = self._sent.get(packet_id)
        if frame is None:
            return resent  # not ours (any more): nothing to send again
        if resent >= self.resends:
            raise ProtocolError(
                _("ККТ АТОЛ {count} раз попросила повторить пакет {id}").format(
                    count=resent, id=packet_id),
                _("проверьте кабель: пакеты искажаются по дороге"))
        self._write(frame)
        return resent + 1

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
            frame, self._deferred = bytes(self._deferred) + frame, bytearray()
        try:
            self.port.write(frame)
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
