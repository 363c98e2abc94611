"""The host side of the Shtrih-M link handshake (reference §1), over a pyserial-like port.

One :meth:`Transport.exchange` sends one command body and returns its answer body:

1. ENQ. NAK means the device is idle: send the frame and wait for ACK. ACK means it holds
   (or is preparing) an answer: read it; if it is the answer to an earlier command, drop it
   and ENQ again.
2. Read ``STX LEN body LRC`` and ACK it. On a bad LRC or a short frame, NAK it and ENQ
   again: the device sends the same answer once more.

Network models send a stray 0xFF after the host's ACK, so 0xFF is skipped wherever a
control byte or STX is awaited. Every loop is bounded by the attempt count and by the
command's answer timeout.

Every byte it sends is the reference's (§1): ENQ, the frame, ACK or NAK. The ENQ before
each command stays even after a cleanly acknowledged exchange, where the protocol would
allow sending the next frame at once: the vendor's own Java driver (javapos_shtrih,
``PrinterProtocol_1.send``) starts every command with ENQ too, and the ENQ is what finds an
answer the device still holds (our ACK lost on the line, or another program's command),
which a frame sent blind would silently throw away. It costs two bytes and one turn of the
line a command; the round trip saved elsewhere is the FF3B that used to ask past the end of
a document (see ``ShtrihKkt.read_document``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NoReturn, Protocol

from kkt_bridge.errors import FrameError, LinkClosedError, LinkTimeoutError, ProtocolError
from kkt_bridge.i18n import _
from kkt_bridge.link.failures import not_a_register

from .frame import (
    ACK,
    BYTE_TIMEOUT,
    ENQ,
    NAK,
    STRAY,
    STX,
    command_prefix,
    decode_frame,
    encode_frame,
)

_ENQ = bytes((ENQ,))
_ACK = bytes((ACK,))
_NAK = bytes((NAK,))

#: bounded retries of the link level (NAKs, corrupt frames, silence), as the vendor drivers do
ATTEMPTS = 10
#: how long a device may take to answer ENQ or to acknowledge a frame
CONTROL_TIMEOUT = 1.0
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
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.port = port
        self.byte_timeout = byte_timeout
        self.control_timeout = control_timeout
        self.attempts = attempts
        self._clock = clock
        # what arrived during one exchange: any protocol byte, and the bytes that were not
        self._heard = False
        self._noise = bytearray()
        # reconfiguring a real port is a syscall; reads below loop on this short timeout
        if port.timeout != byte_timeout:
            port.timeout = byte_timeout

    def exchange(self, body: bytes, timeout: float) -> bytes:
        """Send a request body (CMD + data) and return the answer body (CMD + error + data).

        ``timeout`` is the command's answer time; the handshake gets ``control_timeout`` on
        top. Raises LinkTimeoutError when the device stays silent, ProtocolError when it
        keeps sending garbage or loses an answer it has acknowledged, LinkClosedError when
        the port itself fails (a socket reset, a USB cable pulled).
        """
        try:
            return self._exchange(body, timeout)
        except OSError as exc:  # serial.SerialException is an OSError too
            raise LinkClosedError(
                _("связь с ККТ прервана во время команды {command}: {reason}").format(
                    command=_command_hex(body), reason=exc),
                _("проверьте кабель или сеть и повторите: незавершённая команда будет "
                  "видна в состоянии ККТ")) from exc

    def _exchange(self, body: bytes, timeout: float) -> bytes:
        frame = encode_frame(body)
        self._heard = False
        self._noise.clear()
        started = self._clock()
        deadline = started + timeout + self.control_timeout
        # written: our frame may have reached the device, so a held answer is ours;
        # accepted: the device ACKed it, so sending it again could run the command twice
        written = accepted = False
        # what the failure message says: how many ENQs went, and whether an answer that
        # the device announced (ACK) never came
        tries = 0
        announced = False
        for _attempt in range(self.attempts):
            tries += 1
            self.port.write(_ENQ)
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
                if written:
                    return answer
                continue  # the answer to an earlier command: dropped, ENQ again
            if reply == NAK:
                if accepted:
                    raise ProtocolError(
                        _("ККТ приняла команду {command}, но её ответ потерян").format(
                            command=_command_hex(body)),
                        _("проверьте состояние ККТ (короткий запрос состояния) "
                          "перед повтором операции"))
                self.port.write(frame)
                written = True
                ack = self._control(min(deadline, self._clock() + self.control_timeout),
                                    stx_is_ack=True)
                if ack == NAK:
                    written = False  # the device rejected the frame: safe to send again
                    continue
                if ack not in (ACK, STX):
                    continue  # unknown whether it arrived: the next ENQ tells
                accepted = True
                try:
                    answer = self._answer(deadline, have_stx=ack == STX)
                except _Corrupt:
                    continue
                if answer is None:
                    announced = True
                    break
                return answer
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

    def settle(self, attempts: int = 3) -> None:
        """ENQ until the device says it is idle (NAK), reading and acknowledging any answer
        it still holds, so the next host starts on a quiet link (the shared port calls it
        after a command of the bridge failed half-way). LinkTimeoutError when it stays
        silent, LinkClosedError when the port fails."""
        try:
            for _attempt in range(attempts):
                self.port.write(_ENQ)
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
        except OSError as exc:
            raise LinkClosedError(
                _("связь с ККТ прервана: {reason}").format(reason=exc),
                _("проверьте кабель или сеть")) from exc
        raise LinkTimeoutError(_("ККТ не ответила на ENQ"),
                               _("проверьте кабель, питание ККТ и скорость порта"))

    def probe(self, timeout: float) -> int | None:
        """Send ENQ once; the ACK or NAK byte a Shtrih device answers, or None."""
        self.port.write(_ENQ)
        return self._control(self._clock() + timeout)

    # --- reading ------------------------------------------------------------------------

    def _control(self, deadline: float, *, stx_is_ack: bool = False) -> int | None:
        """The next ACK or NAK before ``deadline`` (stray 0xFF and noise skipped), or None.

        With ``stx_is_ack`` an STX is returned too: the device only starts an answer after
        it acknowledged, so STX means its ACK was lost on the line. Skipping it instead would
        hunt for a control byte inside the answer's data.
        """
        read = self.port.read
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
        read = self.port.read
        garbled = False
        while not have_stx:
            byte = read(1)
            if byte:
                if byte[0] == STX:
                    self._heard = True
                    break
                self._note(byte[0])  # STRAY or noise before the frame
                garbled = garbled or byte[0] != STRAY
            elif garbled:
                # bytes, then a byte timeout of silence: an answer whose STX was lost on
                # the line. NAK it and ENQ again at once instead of waiting out the
                # command's whole answer time; the device sends the same answer again.
                self._reject()
            if self._clock() >= deadline:
                return None
        head = read(1)
        if not head:
            self._reject()
        size = head[0]
        rest = read(size + 1)
        while len(rest) < size + 1:
            more = read(size + 1 - len(rest))
            if not more:  # a whole byte timeout without a byte: the frame is cut
                self._reject()
            rest += more
        try:
            body = decode_frame(bytes((STX, size)) + rest)
        except FrameError:
            self._reject()
        if not body:  # LEN 0: no command echo, no answer
            self._reject()
        self.port.write(_ACK)
        return body

    def _note(self, value: int) -> None:
        """Keep a little of what arrived that is not the protocol (the stray 0xFF is)."""
        if value != STRAY and len(self._noise) <= NOISE_SHOWN:
            self._noise.append(value)

    def _reject(self) -> NoReturn:
        self.port.write(_NAK)
        raise _Corrupt


__all__ = ["ATTEMPTS", "BYTE_TIMEOUT", "CONTROL_TIMEOUT", "STRAY", "SerialPort", "Transport",
           "encode_frame"]
