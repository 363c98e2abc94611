"""The host side of the Shtrih-M link handshake (reference §1), over a pyserial-like port.

One :meth:`Transport.exchange` sends one command body and returns its answer body:

1. ENQ. NAK means the device is idle: send the frame and wait for ACK. ACK means it holds
   (or is preparing) an answer: read it; if it is the answer to an earlier command, drop it
   and ENQ again.
2. Read ``STX LEN body LRC`` and ACK it. On a bad LRC or a short frame, NAK it (once the
   line is quiet: a LEN hit on the line reads the frame short of its end) and ENQ again:
   the device sends the same answer once more.

A noisy line can turn the device's ACK of our frame into a NAK. So a NAK is followed by a
byte timeout's wait: an answer that comes in it is ours (the device speaks unasked only
right after taking a frame); after silence the frame is sent again only once the device
says it is idle, and an answer it holds is taken only if it echoes our command and is not
a copy of the previous answer. Otherwise a sale whose ACK was hit would be made twice.

Network models send a stray 0xFF after the host's ACK, so 0xFF is skipped wherever a
control byte or STX is awaited. Every loop is bounded by the attempt count and by the
command's answer timeout.

Every byte it sends is the reference's (§1): ENQ, the frame, ACK or NAK.

**Queries without ENQ.** The protocol acknowledges every message with one byte (NAK: an
interface error; no acknowledgement within the timeout: the message was not received), and
after a NAKed answer the device waits for ENQ; it does not ask for an ENQ before each
command, and several independent drivers write the frame straight away. The vendor's own
Java driver (javapos_shtrih, ``PrinterProtocol_1``) does start every command with ENQ,
because the ENQ is what finds an answer the device still holds (our ACK lost on the line,
another program's command). We keep that safety where it matters and skip the ENQ where its
cost buys nothing: two bytes and two of the four turns of the line a command takes, which
on a document read (FF3A and about 25 FF3B) is about 6 % of the bytes and half the
turnarounds. A command goes "blind", the frame first, only when

- it is a read-only query (``query=True`` in its declaration: status, ФН and table reads,
  FF3A/FF3B), so running it twice would be harmless;
- the previous exchange was clean (our frame, its ACK, the answer, our ACK, first time,
  nothing else on the line), so the device is idle unless our last ACK was lost;
- that exchange ended less than :data:`BLIND_IDLE` ago (after a longer quiet another
  program or a power cycle may have come between) and it was not the first command since
  the port was opened, :meth:`Transport.settle` or :meth:`Transport.probe`;
- the port is ours alone (``blind=False`` on the shared port, :mod:`.exchange`).

Commands that change the register (receipts, shifts, registration, cash, table writes) keep
the ENQ first: their safety is worth more than two bytes.

If the blind frame gets no acknowledgement (or garbage) within ``control_timeout``, or a
NAK, the exchange falls back to the handshake above. The device may then hold an answer:
a copy of the previous answer (our ACK was lost and the device ignored the frame) or the
answer to our frame (taken, its ACK lost or hit). It is taken only if it echoes our
command and is not byte-identical to the previous answer; a copy is acknowledged and
dropped, and the frame goes again after the device says NAK. A query
whose own answer happened to equal the previous one then runs twice: harmless, except that
a second FF3B moves the ФН on a block, which the length FF3A announced catches
(``ShtrihKkt.read_document`` reads such a document again).

**One write where the bytes meet anyway.** Inside :meth:`Transport.back_to_back` (a
document's FF3A and FF3Bs) the ACK of an answer is written with the next command's frame
(or ENQ) in one write; outside it, and when the block ends, the ACK goes at once.

**The next query at once.** A caller that knows from an answer which query comes next (the
next FF3B while the document's length is not reached) passes ``follow``: after a clean
exchange inside ``back_to_back`` it names that query's body, and its frame goes with the
ACK at once, before the answer travels back up the driver (the bytes and their order are
those of the blind query the next call would send; only the moment is earlier). The next
``exchange`` of that same body goes on from there: it waits for the ACK of a frame already
written, with every rule of a blind frame (fallback, copy check). If another command comes
instead, or the block ends first (an error between), or :meth:`Transport.settle` or
:meth:`Transport.probe` is called,
then the answer to the frame sent ahead is read and dropped first (an exchange of its own,
under the same rules), and the link goes on as after any clean exchange.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import NoReturn, Protocol

from kkt_bridge.errors import KktBridgeError, LinkClosedError, LinkTimeoutError, ProtocolError
from kkt_bridge.i18n import _
from kkt_bridge.link.direct import port_calls
from kkt_bridge.link.failures import not_a_register

from .frame import (
    ACK,
    BYTE_TIMEOUT,
    ENQ,
    NAK,
    STRAY,
    STX,
    command_prefix,
    encode_frame,
    frame_ok,
)

_ENQ = bytes((ENQ,))
_ACK = bytes((ACK,))
_NAK = bytes((NAK,))

#: bounded retries of the link level (NAKs, corrupt frames, silence), as the vendor drivers do
ATTEMPTS = 10
#: how long a device may take to answer ENQ or to acknowledge a frame
CONTROL_TIMEOUT = 1.0
#: a link quiet for longer than this may have changed hands (another program on the port, a
#: power cycle of the device): the next command starts with ENQ again
BLIND_IDLE = 1.0
#: the longest frame (STX, LEN, 255 bytes of body, LRC): what a short-read frame can leave
QUIET_BOUND = 258
#: how many bytes of what answered instead of a register go into the error message
NOISE_SHOWN = 8


class SerialPort(Protocol):
    """What the transport needs of a ``serial.SerialBase``."""

    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...


def _command_hex(body: bytes) -> str:
    """The command code a request body starts with, as errors name it ("FF01", "11")."""
    return command_prefix(body).hex().upper()


class _Corrupt(Exception):
    """An answer frame arrived damaged (already NAKed): ask for it again."""


class Transport:
    """One command at a time over one port (the caller serialises access)."""

    def __init__(self, port: SerialPort, *, byte_timeout: float = BYTE_TIMEOUT,
                 control_timeout: float = CONTROL_TIMEOUT, attempts: int = ATTEMPTS,
                 clock: Callable[[], float] = time.monotonic, blind: bool = True) -> None:
        # reconfiguring a real port is a syscall; reads below loop on this short timeout
        if port.timeout != byte_timeout:
            port.timeout = byte_timeout
        self.port = port
        #: queries may skip the ENQ after a clean exchange (off where another program
        #: shares the port between our commands: see :mod:`..exchange`)
        self.blind = blind
        self.byte_timeout = byte_timeout
        self.control_timeout = control_timeout
        self.attempts = attempts
        self._clock = clock
        # what arrived during one exchange: any protocol byte, and the bytes that were not
        self._heard = False
        self._noise = bytearray()
        # when the last exchange ended cleanly (None: the next command asks with ENQ), and
        # the answer it took (what the device still holds if our ACK of it was lost)
        self._clean_at: float | None = None
        self._last_answer: bytes | None = None
        # an ACK we owe the device, written with the next bytes (see back_to_back)
        self._owed_ack = False
        self._holding = 0
        #: commands sent without ENQ, and those of them that fell back to the handshake
        self.blind_frames = 0
        self.blind_fallbacks = 0
        # the last request body and its frame (bytes are immutable: the same object, the
        # same frame)
        self._framed_body: bytes | None = None
        self._frame = b""
        # the query body whose frame went ahead after the last answer (``follow``)
        self._ahead: bytes | None = None
        self._ahead_timeout = 0.0

    @property
    def port(self) -> SerialPort:
        return self._port

    @port.setter
    def port(self, port: SerialPort) -> None:
        # a tty's descriptor is read and written directly (kkt_bridge.link.direct): a poll
        # and a read where pyserial makes two selects and a read, on the path from the
        # register's answer to our next command; any other port through its own methods
        self._port = port
        calls = port_calls(port)
        self._read = calls.read
        self._read_rest = calls.read_now
        self._send = calls.write

    def exchange(self, body: bytes, timeout: float, *, query: bool = False,
                 follow: Callable[[bytes], bytes | None] | None = None) -> bytes:
        """Send a request body (CMD + data) and return the answer body (CMD + error + data).

        ``timeout`` is the command's answer time; the handshake gets ``control_timeout`` on
        top. ``query``: the command only reads (running it twice is harmless), so it may go
        without ENQ after a clean exchange (see the module text). Raises LinkTimeoutError
        when the device stays silent, ProtocolError when it keeps sending garbage or loses
        an answer it has acknowledged, LinkClosedError when the port itself fails (a socket
        reset, a USB cable pulled). ``follow``: given the answer, the body of the query that
        comes next, or None (see the module text); only inside :meth:`back_to_back`.
        """
        try:
            try:
                return self._exchange(body, timeout, query, follow)
            finally:
                if not self._holding:
                    self._flush()
        except OSError as exc:  # serial.SerialException is an OSError too
            raise LinkClosedError(
                _("связь с ККТ прервана во время команды {command}: {reason}").format(
                    command=_command_hex(body), reason=exc),
                _("проверьте кабель или сеть и повторите: незавершённая команда будет "
                  "видна в состоянии ККТ")) from exc

    @contextlib.contextmanager
    def back_to_back(self) -> Iterator[None]:
        """Commands that follow one another at once (a document's FF3A and FF3Bs): the ACK
        of each answer goes out in one write with the next command's first bytes, the
        way they meet on the line anyway; the last one is written when the block ends."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding:
                self._finish_ahead()
                # a port that failed here is reported by the next command
                with contextlib.suppress(OSError):
                    self._flush()

    def _may_go_blind(self, query: bool, now: float) -> bool:
        """Whether this command may skip the ENQ (the module text says when and why)."""
        return (self.blind and query and self._clean_at is not None
                and now - self._clean_at <= BLIND_IDLE)

    def _frame_of(self, body: bytes) -> bytes:
        if body is self._framed_body:
            return self._frame  # the same request again (FF3B, 25 times a document)
        frame = self._frame = encode_frame(body)
        # a bytearray may change under the same identity: only bytes are remembered
        self._framed_body = body if type(body) is bytes else None
        return frame

    def _exchange(self, body: bytes, timeout: float, query: bool,
                  follow: Callable[[bytes], bytes | None] | None = None) -> bytes:
        if self._ahead is not None and self._ahead is not body:
            self._finish_ahead()  # another command came: the one sent ahead ends first
        # the frame already went, blind, after the last answer (``follow``)
        sent = self._ahead is not None
        self._ahead = None
        frame = self._frame_of(body)
        # an answer echoes its command: one that does not is never this command's
        echo = command_prefix(body)
        self._heard = False
        self._noise.clear()
        started = self._clock()
        deadline = started + timeout + self.control_timeout
        blind = sent or self._may_go_blind(query, started)
        # the answer the device may still hold if our ACK of it was lost
        previous = self._last_answer
        self._clean_at = None  # until this exchange ends cleanly
        # written: our frame may have reached the device, so a held answer is ours;
        # accepted: the device ACKed it, so sending it again could run the command twice
        written = accepted = False
        # a held answer byte-identical to this one is the previous answer again (our ACK
        # of it was lost and the device ignored the frame sent blind), not ours
        suspect: bytes | None = None
        # what the failure message says: how many ENQs went, and whether an answer that
        # the device announced (ACK) never came
        tries = 0
        announced = False
        for attempt in range(self.attempts):
            tries += 1
            if blind and not attempt:
                self.blind_frames += 1
                reply: int | None = NAK  # the frame goes at once, as after an ENQ's NAK
            else:
                self._write(_ENQ)
                reply = self._control(min(deadline, self._clock() + self.control_timeout),
                                      stx_is_ack=True)
            if reply in (ACK, STX):
                try:
                    answer = self._answer(deadline, have_stx=reply == STX)
                except _Corrupt:
                    continue
                if answer is None:
                    announced = True
                    break
                if written and answer != suspect and answer.startswith(echo):
                    return self._took(answer, clean=False)
                continue  # the answer to an earlier command: dropped, ENQ again
            if reply == NAK:
                if accepted:
                    raise ProtocolError(
                        _("ККТ приняла команду {command}, но её ответ потерян").format(
                            command=_command_hex(body)),
                        _("проверьте состояние ККТ (короткий запрос состояния) "
                          "перед повтором операции"))
                # sent after the device said it was idle: a held answer is now ours
                suspect = None
                if not sent or attempt:
                    self._write(frame)
                written = True
                ack = self._control(min(deadline, self._clock() + self.control_timeout),
                                    stx_is_ack=True)
                if ack == NAK:
                    if blind and not attempt:
                        self.blind_fallbacks += 1
                    # Refused, or taken with its ACK hit on the line (06 read as 15). A
                    # refused frame is followed by silence, a taken one by its answer: an
                    # ENQ sent into that answer would bring a second copy, and the copy
                    # and the NAK it ends with would meet the next exchanges out of step
                    try:
                        answer = self._answer(self._clock() + self.byte_timeout)
                    except _Corrupt:
                        accepted, suspect = True, None  # an answer came: the frame was taken
                        continue
                    if answer is not None and answer.startswith(echo):
                        return self._took(answer, clean=False)
                    # silence: refused (sent again once the device says it is idle), or a
                    # slow command. The device holds at most our answer, the previous one
                    # (our ACK of it lost) or another command's: only ours is taken
                    suspect = previous
                    continue
                if ack not in (ACK, STX):
                    if blind and not attempt:
                        # no ACK to a frame sent blind: the device may be holding the
                        # previous answer (our ACK lost) and have ignored the frame
                        self.blind_fallbacks += 1
                        suspect = previous
                    continue  # unknown whether it arrived: the next ENQ tells
                accepted = True
                try:
                    answer = self._answer(deadline, have_stx=ack == STX)
                except _Corrupt:
                    continue
                if answer is None:
                    announced = True
                    break
                if not answer.startswith(echo):
                    continue  # bytes another program left on the line, not our answer
                # clean: the first try, and the device's own ACK came (not just its STX)
                return self._took(answer, clean=not attempt and ack == ACK, timeout=timeout,
                                  follow=follow)
            if self._clock() >= deadline:
                break
        if self._noise and not self._heard:
            # bytes came, never a control byte or a frame: something else sits on this port
            shown = self._noise[:NOISE_SHOWN].hex(" ").upper()
            raise not_a_register(
                str(getattr(self.port, "port", None) or getattr(self.port, "name", "?")),
                _("вместо ответа ККТ пришли байты {bytes}").format(
                    bytes=shown + (" ..." if len(self._noise) > NOISE_SHOWN else "")))
        seconds = f"{self._clock() - started:.1f}"
        if accepted and announced:
            raise LinkTimeoutError(
                _("ККТ приняла команду {command}, но не прислала ответ за {seconds} с").format(
                    command=_command_hex(body), seconds=seconds),
                _("команда могла выполниться: проверьте состояние ККТ (короткий запрос "
                  "состояния) перед повтором; если ККТ не отвечает, перезагрузите её"))
        if announced:
            raise LinkTimeoutError(
                _("ККТ начала ответ на команду {command}, но не прислала его за {seconds} с"
                  ).format(command=_command_hex(body), seconds=seconds),
                _("проверьте кабель и скорость порта; если ККТ не отвечает, перезагрузите её"))
        raise LinkTimeoutError(
            _("ККТ не ответила на команду {command}: {tries} из {attempts} попыток за "
              "{seconds} с").format(command=_command_hex(body), tries=tries,
                                    attempts=self.attempts, seconds=seconds),
            _("проверьте кабель, питание ККТ и скорость порта"))

    def _took(self, answer: bytes, *, clean: bool, timeout: float = 0.0,
              follow: Callable[[bytes], bytes | None] | None = None) -> bytes:
        """``answer`` is the command's: remember it, and whether the exchange was clean
        (frame, ACK, answer, our ACK, first time, nothing else on the line); then send the
        query ``follow`` names, as the next blind query would go (see the module text)."""
        self._last_answer = answer
        if clean and not self._noise:
            self._clean_at = self._clock()
            if follow is not None and self._holding and self.blind:
                after = follow(answer)
                if after is not None:
                    self._write(self._frame_of(after))  # with the ACK of this answer
                    self._ahead, self._ahead_timeout = after, timeout
        return answer

    def _finish_ahead(self) -> None:
        """The query sent ahead was not asked for: read its answer and drop it (the device
        would hold it, and a copy would follow the next ENQ). A failure leaves the link
        unclean, so the next command asks with ENQ; a failed port is the next command's."""
        body = self._ahead
        if body is None:
            return
        try:
            self._exchange(body, self._ahead_timeout, True)
        except (KktBridgeError, OSError):
            self._ahead = self._clean_at = None

    def settle(self, attempts: int = 3) -> None:
        """ENQ until the device says it is idle (NAK), reading and acknowledging any answer
        it still holds, so the next host starts on a quiet link (the shared port calls it
        after a command of the bridge failed half-way). LinkTimeoutError when it stays
        silent, LinkClosedError when the port fails."""
        self._finish_ahead()
        self._clean_at = None
        try:
            for _attempt in range(attempts):
                self._write(_ENQ)
                deadline = self._clock() + self.control_timeout
                reply = self._control(deadline, stx_is_ack=True)
                if reply == NAK:
                    return
                if reply not in (ACK, STX):
                    break
                try:
                    self._answer(deadline, have_stx=reply == STX)
                except _Corrupt:
                    continue
            self._flush()
        except OSError as exc:
            raise LinkClosedError(
                _("связь с ККТ прервана: {reason}").format(reason=exc),
                _("проверьте кабель или сеть")) from exc
        raise LinkTimeoutError(_("ККТ не ответила на ENQ"),
                               _("проверьте кабель, питание ККТ и скорость порта"))

    def probe(self, timeout: float) -> int | None:
        """Send ENQ once; the ACK or NAK byte a Shtrih device answers, or None."""
        self._finish_ahead()
        self._clean_at = None
        self._write(_ENQ)
        return self._control(self._clock() + timeout)

    # --- reading ------------------------------------------------------------------------

    def _control(self, deadline: float, *, stx_is_ack: bool = False) -> int | None:
        """The next ACK or NAK before ``deadline`` (stray 0xFF and noise skipped), or None.

        With ``stx_is_ack`` an STX is returned too: the device only starts an answer after
        it acknowledged, so STX means its ACK was lost on the line. Skipping it instead would
        hunt for a control byte inside the answer's data.
        """
        read = self._read
        while True:
            byte = read(1)
            if byte:
                value = byte[0]
                if value in (ACK, NAK) or (stx_is_ack and value == STX):
                    self._heard = True
                    return value
                self._note(value)  # 0xFF after an ACK over TCP, or line noise
            # checked after noise too: a port that never stops talking must not hold us
            if self._clock() >= deadline:
                return None

    def _answer(self, deadline: float, *, have_stx: bool = False) -> bytes | None:
        """Read one answer frame and acknowledge it; None when no STX came before ``deadline``.

        ``have_stx``: the STX was already consumed by :meth:`_control`.
        Raises _Corrupt (after sending NAK) when the frame is short or its LRC is wrong.
        """
        read = self._read
        garbled = False
        # the frame's LEN when it came in one read with the STX: STX and LEN are taken
        # together (a frame has at least four bytes, so the read never waits for a byte
        # past the frame), one read and one wake-up less an answer
        head = b""
        while not have_stx:
            got = read(2)
            for index, value in enumerate(got):
                if value == STX:
                    self._heard = have_stx = True
                    head = got[index + 1:]
                    break
                self._note(value)  # STRAY or noise before the frame
                garbled = garbled or value != STRAY
            if have_stx:
                break
            if not got and garbled:
                # bytes, then a byte timeout of silence: an answer whose STX was lost on
                # the line. NAK it and ENQ again at once instead of waiting out the
                # command's whole answer time; the device sends the same answer again.
                self._reject()
            if self._clock() >= deadline:
                return None
        if not head:
            head = self._read_rest(1)
        if not head:
            self._reject()
        size = head[0]
        rest = self._read_rest(size + 1)
        while len(rest) < size + 1:
            more = read(size + 1 - len(rest))
            if not more:  # a whole byte timeout without a byte: the frame is cut
                self._reject()
            rest += more
        # decode_frame's checks on the parts as they came (STX, LEN and the length hold)
        if not size or not frame_ok(size, rest[:size], rest[size]):
            # a bad LRC, or LEN 0: no command echo, no answer. A LEN hit on the line may
            # have cut the frame short of its real end: its tail is still coming
            self._wait_quiet()
            self._reject()
        body = rest[:size]
        self._owed_ack = True  # written with whatever we send next, or at the end
        return body

    def _note(self, value: int) -> None:
        """Keep a little of what arrived that is not the protocol (the stray 0xFF is)."""
        if value != STRAY and len(self._noise) <= NOISE_SHOWN:
            self._noise.append(value)

    def _wait_quiet(self) -> None:
        """Read and drop what still comes until a byte timeout of silence (bounded by two
        frames' worth). A NAK must follow the device's last byte: the tail of a frame read
        short, taken for the device's reply to our next ENQ, would have its data bytes read
        as ACK, NAK or STX, and the device's copy misframed the same way every time."""
        read = self._read
        left = 2 * QUIET_BOUND
        while left > 0:
            got = read(left)
            if not got:
                return
            left -= len(got)

    def _reject(self) -> NoReturn:
        self._write(_NAK)
        raise _Corrupt

    # --- writing ------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Write ``data``, after the ACK we still owe: one write, as they meet on the line."""
        if self._owed_ack:
            self._owed_ack = False
            data = _ACK + data
        self._send(data)

    def _flush(self) -> None:
        if self._owed_ack:
            self._owed_ack = False
            self._send(_ACK)


__all__ = ["ATTEMPTS", "BLIND_IDLE", "BYTE_TIMEOUT", "CONTROL_TIMEOUT", "STRAY", "SerialPort",
           "Transport", "encode_frame"]
