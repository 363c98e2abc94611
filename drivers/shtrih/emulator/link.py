"""The device side of the Shtrih-M handshake, as a byte-level state machine without I/O.

The line (:mod:`kkt_bridge.emulation.lines`) feeds bytes in with :meth:`DeviceLink.receive`
and calls :meth:`DeviceLink.poll` to collect what the device sends; both take the current
monotonic time, so the machine is driven by a fake clock in unit tests and by the real one
in service.

The device's rules (reference §1, protocol document v1.16):

- ENQ: NAK when idle and waiting for a command; ACK when it is preparing or holding an
  answer, and then the answer follows.
- A frame ``STX LEN body LRC`` must come with no more than 50 ms between bytes, or it is
  forgotten. A good frame is ACKed, even when its command is unknown (the answer then
  carries the error code); a bad LRC is NAKed. A byte that cannot start anything is a
  broken frame: the rest of it is skipped until the line is quiet for 50 ms, then NAK
  (unless an answer is held: then the noise was the host's ACK, and ENQ will sort it out).
- The answer is held until the host ACKs it. After a NAK, or no ACK at all, the next ENQ
  gets ACK and the same answer again. What a frame that arrives while an answer is held
  does, the reference does not say; the link option ``frame_while_held`` chooses (see
  :data:`FRAME_WHILE_HELD`): ``take`` (the default) or ``ignore``.
- Over TCP a real device sends a stray 0xFF after the host's ACK (``stray_ff``).

The optional "v2" protocol of newer firmware is understood on the same line: a frame
``8F | LEN16 | NUM16 | DATA | CRC16`` (little-endian, CRC-16/CCITT from 0xFFFF over LEN,
NUM and DATA, 8F and 9F byte-stuffed as 9F 81 and 9F 83) gets its answer in a frame of the
same number; no ENQ, ACK or NAK. A frame with LEN 0 synchronises the numbers (the answer
carries the device's last number); a frame repeating the last number gets the last answer
again without running the command twice; a frame with a bad CRC is ignored (the host
repeats it).

Pacing and the line's faults are the kit's :class:`~kkt_bridge.emulation.pacing.Pacer`:
bytes arrive no sooner than a real 8N1 line delivers them, each frame or control byte
leaves whole when its last byte would have left the wire. The link tells the pacer which
bytes it acts on (a control byte, the LRC that ends a frame) with a look-ahead of its
receive state machine (:meth:`DeviceLink._ahead`), so the line wakes once a frame, not once
a byte (87 us apart at 115200 baud, which kept a core half busy). Where the look-ahead
cannot be sure (noise, a v2 frame) it wakes per byte.
"""

from __future__ import annotations

import binascii
import enum
import logging
from collections.abc import Callable

from kkt_bridge.drivers.shtrih.frame import (
    ACK,
    BYTE_TIMEOUT,
    ENQ,
    MAX_BODY,
    NAK,
    STRAY,
    STX,
    command_prefix,
    encode_frame,
    frame_ok,
)
from kkt_bridge.emulation.faults import FaultInjector, FaultSpec
from kkt_bridge.emulation.pacing import Pacer

from .refusal import UNSUPPORTED

log = logging.getLogger(__name__)

#: protocol v2: frame start, escape, and what follows the escape for each of them
V2_STX = 0x8F
V2_ESC = 0x9F
_V2_UNESCAPE = {0x81: V2_STX, 0x83: V2_ESC}
_V2_MAX_LENGTH = 1024

Handler = Callable[[bytes], bytes]

#: What a good frame does while the device still holds an unacknowledged answer (the host's
#: ACK was lost, or it sent the next command without acknowledging). The reference is
#: silent: it says only that an unacknowledged message counts as not received and that the
#: device waits for ENQ after a NAKed answer.
#:
#: - ``take`` (the default): the STX ends the wait for the ACK. A host only sends a new
#:   command once it has the answer it wanted, so the held answer counts as delivered and
#:   the frame is acknowledged and run like any other.
#: - ``ignore``: the frame is swallowed without ACK, NAK or answer until an ENQ fetches
#:   the held answer and the host acknowledges it: the stricter reading, under which a host
#:   that skips the ENQ must notice the silence and fall back to the handshake.
FRAME_WHILE_HELD = ("take", "ignore")


class _Rx(enum.Enum):
    IDLE = "idle"  # waiting for ENQ, STX, ACK or NAK
    LENGTH = "length"  # got STX
    BODY = "body"
    LRC = "lrc"
    SKIP = "skip"  # a broken frame: skip to a quiet line, then NAK
    V2 = "v2"  # inside a protocol v2 frame (after 8F)


class _Answer(enum.Enum):
    NONE = "none"
    PREPARING = "preparing"  # command accepted, answer not ready yet (latency)
    HELD = "held"  # answer sent (or NAKed), waiting for ACK or ENQ


class DeviceLink:
    """One link (a pty or one TCP connection) between a host and the device's handler."""

    def __init__(self, handler: Handler, *, faults: FaultInjector | None = None,
                 stray_ff: bool = False,
                 power_cycle: Callable[[], None] | None = None,
                 frame_while_held: str = "take") -> None:
        if frame_while_held not in FRAME_WHILE_HELD:
            raise ValueError(f"frame_while_held={frame_while_held!r}: one of "
                             f"{', '.join(FRAME_WHILE_HELD)}")
        self.handler = handler
        self.ignore_frame_while_held = frame_while_held == "ignore"
        self.faults = faults or FaultInjector()
        self.stray_ff = stray_ff
        self.power_cycle = power_cycle
        #: set when a fault asks the transport to drop the connection
        self.disconnect_requested = False
        self.pacer = Pacer(self.faults, byte_timeout=BYTE_TIMEOUT)
        self._rx = _Rx.IDLE
        self._frame = bytearray()
        self._need = 0
        self._last_rx = 0.0
        self._ahead_rx = _Rx.IDLE  # the look-ahead parser, at the tail of the pacer's inbox
        self._ahead_need = 0
        self._ahead_last = 0.0
        self._answer = _Answer.NONE
        self._answer_frame = b""
        self._ready_at = 0.0
        self._answer_v2 = False  # the prepared answer is a v2 frame: sent once, not held
        self._v2 = bytearray()
        self._v2_escape = False
        self._v2_number = 0  # the number of the last v2 frame run
        self._v2_answer: bytes | None = None  # and its answer, for a repeated frame

    @property
    def spec(self) -> FaultSpec:
        return self.faults.spec

    @property
    def bytes_in(self) -> int:
        """What the host wrote (before the line's faults)."""
        return self.pacer.bytes_in

    @property
    def bytes_out(self) -> int:
        """What the device put on the wire."""
        return self.pacer.bytes_out

    # --- input ------------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """Bytes the host wrote, setting off down the line at ``now`` (the line's word:
        the write where it knows it, else the read; see ``EmulatedLink.receive``)."""
        self.pacer.arrive(data, now, self._ahead)

    def _ahead(self, byte: int, arrival: float) -> bool:
        """Will the device act on this byte when it arrives? The receive state machine of
        :meth:`_byte`, run early over the inbox without acting. It may say yes too often
        (noise, v2: every byte), which costs a wake-up; never no for a byte that acts."""
        if arrival - self._ahead_last >= BYTE_TIMEOUT:
            self._ahead_rx = _Rx.IDLE  # _expire will have ended any frame by then
        self._ahead_last = arrival
        rx = self._ahead_rx
        if rx is _Rx.IDLE:
            if byte == STX:
                self._ahead_rx = _Rx.LENGTH
                return False
            if byte in (ACK, NAK):
                # the host's ACK only lets the held answer go (a stray 0xFF follows over
                # TCP); its NAK changes nothing: neither needs the device on time
                return byte == ACK and self.stray_ff
            if byte != ENQ:
                self._ahead_rx = _Rx.SKIP  # noise or a v2 frame: per byte from here
            return True
        if rx is _Rx.LENGTH:
            if byte == 0:
                self._ahead_rx = _Rx.SKIP
                return True
            self._ahead_need = byte
            self._ahead_rx = _Rx.BODY
            return False
        if rx is _Rx.BODY:
            self._ahead_need -= 1
            if not self._ahead_need:
                self._ahead_rx = _Rx.LRC
            return False
        if rx is _Rx.LRC:
            self._ahead_rx = _Rx.IDLE
            return True
        return True

    # --- the clock --------------------------------------------------------------------------

    def poll(self, now: float) -> bytes:
        """Advance to ``now``: handle arrived bytes, return the bytes to write now."""
        for at, byte in self.pacer.arrived(now):
            self._timers(at)
            self._byte(byte, at)
        self._timers(now)
        return self._release(now)

    def _timers(self, now: float) -> None:
        """What falls due by ``now``, in time order, so a late poll acts as a punctual
        one: a byte must not act before an answer that was ready when it arrived (an
        ENQ then gets ACK and the answer again), nor a timeout before it."""
        if self._answer is _Answer.PREPARING and self._ready_at <= now:
            self._expire(self._ready_at)
            # v2 has no handshake: its answer is sent once and not held
            self._answer = _Answer.NONE if self._answer_v2 else _Answer.HELD
            self._send_answer(self._ready_at)
        self._expire(now)

    def next_deadline(self) -> float | None:
        """The next moment :meth:`poll` has something to do, None when only input can."""
        paced = self.pacer.next_deadline()
        times = [] if paced is None else [paced]
        if self._rx is not _Rx.IDLE and not self.pacer.receiving:
            times.append(self._last_rx + BYTE_TIMEOUT)
        if self._answer is _Answer.PREPARING:
            times.append(self._ready_at)
        return min(times) if times else None

    def _expire(self, now: float) -> None:
        """The inter-byte timeout: a frame not finished within 50 ms of its last byte."""
        if self._rx is _Rx.IDLE or now < self._last_rx + BYTE_TIMEOUT:
            return
        if self._rx is _Rx.SKIP and self._answer is _Answer.NONE:
            # A NAK here would be a reply nobody asked for while an answer is held (the
            # noise was then most likely the host's ACK): the host could take it for the
            # reply to its next ENQ and the held answer for the reply to its next frame.
            self._emit(bytes([NAK]), self._last_rx + BYTE_TIMEOUT)
        else:
            log.debug("frame timed out after %d bytes", len(self._frame))
        self._rx = _Rx.IDLE

    # --- the handshake ----------------------------------------------------------------------

    def _byte(self, byte: int, at: float) -> None:
        self._last_rx = at
        rx = self._rx
        if rx is _Rx.IDLE:
            self._control(byte, at)
        elif rx is _Rx.LENGTH:
            if byte == 0:
                self._rx = _Rx.SKIP  # LEN 0 cannot be a frame: treat as noise
                return
            self._frame = bytearray([byte])
            self._need = byte
            self._rx = _Rx.BODY
        elif rx is _Rx.BODY:
            self._frame.append(byte)
            self._need -= 1
            if not self._need:
                self._rx = _Rx.LRC
        elif rx is _Rx.LRC:
            self._rx = _Rx.IDLE
            self._frame_done(bytes(self._frame), byte, at)
        elif rx is _Rx.V2:
            self._v2_byte(byte, at)

    def _control(self, byte: int, at: float) -> None:
        if byte == ENQ:
            if self._answer is _Answer.NONE:
                self._emit(bytes([NAK]), at)
            elif self._answer is _Answer.PREPARING:
                self._emit(bytes([ACK]), at)  # the answer follows when ready
            else:
                self._emit(bytes([ACK]), at)
                self._send_answer(at)
        elif byte == STX:
            self._rx = _Rx.LENGTH
        elif byte == ACK:
            if self._answer is _Answer.HELD and not self.faults.ack_lost():
                self._answer = _Answer.NONE
                self._answer_frame = b""
                if self.stray_ff:
                    self._emit(bytes([STRAY]), at)
        elif byte == NAK:
            pass  # the held answer stays held: the host asks again with ENQ
        elif byte == V2_STX:
            self._rx = _Rx.V2
            self._v2 = bytearray()
            self._v2_escape = False
        else:
            self._rx = _Rx.SKIP

    def _frame_done(self, payload: bytes, check: int, at: float) -> None:
        if not frame_ok(payload[0], payload[1:], check):
            self._emit(bytes([NAK]), at)
            return
        if self._answer is _Answer.HELD and self.ignore_frame_while_held:
            log.debug("frame ignored: an answer is held until ENQ (frame_while_held=ignore)")
            return
        if self._answer is _Answer.PREPARING or self.faults.refuse_frame():
            self._emit(bytes([NAK]), at)  # busy with the previous command, or a NAK storm
            return
        # with an answer held (and frame_while_held=take) the frame ends the wait for the
        # ACK: the held answer counts as delivered and is replaced by this one's
        if self._power_fails(payload[1:]):
            return  # the device died before it could acknowledge
        self._emit(bytes([ACK]), at)
        self._prepare(encode_frame(self._run(payload[1:])[:MAX_BODY]), at, v2=False)

    def _power_fails(self, body: bytes) -> bool:
        if not self.faults.power_fails():
            return False
        log.info("power loss injected at a command 0x%s", body[:2].hex())
        if self.power_cycle is not None:
            self.power_cycle()
        self._answer = _Answer.NONE  # it comes back idle, holding nothing
        return True

    def _run(self, body: bytes) -> bytes:
        try:
            answer = self.handler(body)
        except Exception:  # the device must answer something, and the log must tell why
            log.exception("device failed on 0x%s", body[:2].hex())
            # what a device answers to a command it cannot run
            answer = command_prefix(body) + bytes([UNSUPPORTED])
        self.faults.command_done()
        return answer

    def _prepare(self, frame: bytes, at: float, *, v2: bool) -> None:
        self._answer_frame = frame
        self._answer_v2 = v2
        self._answer = _Answer.PREPARING
        self._ready_at = at + self.spec.latency_ms / 1000.0
        if self.faults.cut_this_answer():
            self.pacer.cut_after(len(frame) // 2)

    # --- protocol v2 ------------------------------------------------------------------------

    def _v2_byte(self, byte: int, at: float) -> None:
        if self._v2_escape:
            self._v2_escape = False
            unescaped = _V2_UNESCAPE.get(byte)
            if unescaped is None:
                self._rx = _Rx.SKIP  # not a stuffed byte: the frame is broken
                return
            byte = unescaped
        elif byte == V2_ESC:
            self._v2_escape = True
            return
        elif byte == V2_STX:
            self._v2 = bytearray()  # a new frame starts: the host gave the last one up
            return
        buf = self._v2
        buf.append(byte)
        if len(buf) < 2:
            return
        length = int.from_bytes(buf[:2], "little")
        if length > _V2_MAX_LENGTH or length == 1:
            self._rx = _Rx.SKIP
            return
        if len(buf) == (4 if length == 0 else length + 4):
            self._rx = _Rx.IDLE
            self._v2_frame_done(bytes(buf), at)

    def _v2_frame_done(self, frame: bytes, at: float) -> None:
        payload, check = frame[:-2], int.from_bytes(frame[-2:], "little")
        if binascii.crc_hqx(payload, 0xFFFF) != check:
            log.debug("v2 frame with a bad CRC ignored")
            return
        if len(payload) == 2:  # LEN 0: the host asks which number comes next
            self._emit(v2_frame(self._v2_number, b""), at)
            return
        number = int.from_bytes(payload[2:4], "little")
        body = payload[4:]
        if number == self._v2_number and self._v2_answer is not None:
            self._emit(v2_frame(number, self._v2_answer), at)  # a repeat: run once only
            return
        if not body or self._answer is _Answer.PREPARING or self.faults.refuse_frame():
            return  # v2 has no NAK: silence makes the host repeat
        if self._power_fails(body):
            return
        answer = self._run(body)
        self._v2_number, self._v2_answer = number, answer
        self._prepare(v2_frame(number, answer), at, v2=True)

    def _send_answer(self, at: float) -> None:
        self._emit(self._answer_frame, at)

    # --- output -----------------------------------------------------------------------------

    def _emit(self, data: bytes, at: float) -> None:
        self.pacer.emit(data, at)

    def _release(self, now: float) -> bytes:
        out, cut = self.pacer.release(now)
        if cut:
            self._disconnect()
        return out

    def _disconnect(self) -> None:
        """Drop everything the link held, as a device that lost its line does."""
        self.disconnect_requested = True
        self._answer = _Answer.NONE
        self._answer_frame = b""
        self._rx = _Rx.IDLE
        self.pacer.clear_input()
        self._ahead_rx = _Rx.IDLE


def v2_frame(number: int, data: bytes) -> bytes:
    """A protocol v2 frame: 8F, then LEN16 NUM16 DATA CRC16, byte-stuffed."""
    inner = (len(data) + 2).to_bytes(2, "little") + number.to_bytes(2, "little") + data
    inner += binascii.crc_hqx(inner, 0xFFFF).to_bytes(2, "little")
    stuffed = inner.replace(bytes([V2_ESC]), bytes([V2_ESC, 0x83])).replace(
        bytes([V2_STX]), bytes([V2_ESC, 0x81]))
    return bytes([V2_STX]) + stuffed
