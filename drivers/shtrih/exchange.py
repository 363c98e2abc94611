"""What one exchange is on a Shtrih-M link: the driver's rules for the shared port.

The core's shared port (:mod:`kkt_bridge.share`) forwards the cash software's bytes to the
register unchanged and asks a :class:`ShtrihTracker` whether the exchange in hand is over.
The tracker follows the handshake of reference §1 from both sides, with the control bytes
and the frame of :mod:`.frame`:

- ENQ -> NAK (idle: a frame may follow) or ACK (an answer is held or being prepared: it
  follows);
- ``STX LEN body LRC`` -> ACK (the answer follows within the command's answer time) or NAK
  (the host sends the frame again);
- the answer frame -> the host's ACK ends the exchange; its NAK asks for the answer again
  (by ENQ); an STX where a control byte was due means the ACK was lost on the line;
- a network register's stray 0xFF between frames is line noise: not passed on;
- FF3A opens a stateful read that FF3B continues until it answers an error (08, end of
  data): the exchange lasts until then, so the bridge's own FF3A cannot reset the read;
- the optional "v2" protocol (:data:`.frame.V2Frame`, no handshake): a request frame and
  the register's answer frame of the same command are one exchange.

Every state has the deadline a real register would give it: when it passes, the host or the
register gave up and the link is free again. The commands that make a fiscal document
(:data:`DOCUMENT_CLOSERS`) are reported when their answer reached the host.
"""

from __future__ import annotations

import enum
from typing import Any

from construct import ConstructError

from kkt_bridge.share.rules import Completed

from .commands import REGISTRY
from .commands import correction as correction_cmds
from .commands import fn as fn_cmds
from .commands import receipt as receipt_cmds
from .commands import registration as registration_cmds
from .commands import shift as shift_cmds
from .commands.base import DEFAULT_TIMEOUT
from .frame import (
    ACK,
    ENQ,
    NAK,
    STRAY,
    STX,
    V2_ESC,
    V2_STX,
    V2_UNSTUFF,
    V2Frame,
    command_prefix,
    lrc,
)
from .transport import CONTROL_TIMEOUT, Transport

#: commands whose success makes a fiscal document in the ФН: the bridge exports at once
DOCUMENT_CLOSERS = frozenset(cmd.code for cmd in (
    receipt_cmds.CLOSE_RECEIPT,
    receipt_cmds.CLOSE_RECEIPT_EXTENDED,
    receipt_cmds.CLOSE_RECEIPT_V2,
    shift_cmds.OPEN_SHIFT,
    shift_cmds.Z_REPORT,
    correction_cmds.CORRECTION_RECEIPT,
    registration_cmds.REGISTRATION_REPORT,
    registration_cmds.REREGISTRATION_REPORT,
))

#: a stateful read: the first command opens it, the second continues it until an error
READ_OPEN = fn_cmds.DOCUMENT_TLV.code
READ_NEXT = fn_cmds.READ_TLV_BLOCK.code

#: the longest v2 frame a register sends (its LEN16 beyond this is noise)
V2_MAX_LENGTH = 1024
#: after NAK (to ENQ or to a frame) the host sends its frame at once; a host that takes
#: longer starts a new exchange with it (the register is idle meanwhile)
FOLLOW_TIME = 0.2
#: how long a host may take to acknowledge an answer (it is already on its side)
HOST_REPLY_TIME = 1.0
#: the longest pause between two commands of one stateful read
SEQUENCE_GAP = 0.5
#: a frame whose bytes stop coming for this long is abandoned (the register forgets it
#: after 50 ms of its own clock; bytes reach the bridge later than they left)
FRAME_GAP = 0.25


class _State(enum.Enum):
    IDLE = "idle"
    ASKED = "asked"  # ENQ passed on, the register's ACK or NAK is due
    READY = "ready"  # the register said NAK: idle, the host's frame may follow
    SENT = "sent"  # a frame passed on, the register's ACK or NAK is due
    WAITING = "waiting"  # the register accepted: its answer is due
    ANSWERED = "answered"  # the answer passed on, the host's ACK or NAK is due
    REASK = "reask"  # the host NAKed the answer: its ENQ is due
    V2_SENT = "v2-sent"  # a v2 request passed on, its v2 answer is due


class _Frames:
    """Cuts one direction's bytes into control bytes and frames: ``STX LEN body LRC``, and
    the v2 ``8F`` frames (unstuffed here)."""

    def __init__(self) -> None:
        self._frame: bytearray | None = None  # inside a frame: LEN + body so far
        self._v2: bytearray | None = None  # inside a v2 frame: its unstuffed bytes so far
        self._escape = False
        self._last = 0.0

    @property
    def expires(self) -> float | None:
        """When a frame in progress is abandoned if no byte comes."""
        if self._frame is None and self._v2 is None:
            return None
        return self._last + FRAME_GAP

    def partial(self, now: float) -> bool:
        """A frame is coming and its bytes have not stopped."""
        if now - self._last > FRAME_GAP:
            self._frame = self._v2 = None
        return self._frame is not None or self._v2 is not None

    def feed(self, byte: int, now: float) -> tuple[str, Any] | None:
        """A token when ``byte`` ends one: ("control", b), ("frame", (body, ok)),
        ("v2", content), ("stray", b), ("noise", b); None inside a frame."""
        self.partial(now)
        self._last = now
        if self._v2 is not None:
            return self._v2_byte(byte)
        frame = self._frame
        if frame is None:
            if byte == STX:
                self._frame = bytearray()
                return None
            if byte == V2_STX:
                self._v2, self._escape = bytearray(), False
                return None
            if byte in (ENQ, ACK, NAK):
                return "control", byte
            return ("stray" if byte == STRAY else "noise"), byte
        if not frame and byte == 0:  # LEN 0 is no frame
            self._frame = None
            return "noise", byte
        if not frame or len(frame) <= frame[0]:
            frame.append(byte)
            return None
        self._frame = None
        body = bytes(frame[1:])
        return "frame", (body, lrc(bytes(frame)) == byte)

    def _v2_byte(self, byte: int) -> tuple[str, Any] | None:
        buf = self._v2
        assert buf is not None
        if self._escape:
            self._escape = False
            unstuffed = V2_UNSTUFF.get(byte)
            if unstuffed is None:
                self._v2 = None
                return "noise", byte
            byte = unstuffed
        elif byte == V2_ESC:
            self._escape = True
            return None
        elif byte == V2_STX:
            self._v2 = bytearray()  # a new frame: the last one was given up
            return None
        buf.append(byte)
        if len(buf) < 2:
            return None
        length = int.from_bytes(buf[:2], "little")
        if length > V2_MAX_LENGTH:
            self._v2 = None
            return "noise", byte
        if len(buf) < length + 4:
            return None
        self._v2 = None
        try:
            return "v2", bytes(V2Frame.parse(bytes(buf)).payload.value.content)
        except ConstructError:
            return "noise", byte  # a bad CRC: the register ignores it, the host repeats


class ShtrihTracker:
    """One cash program's conversation with a Shtrih-M register (see the module text)."""

    def __init__(self) -> None:
        self._host = _Frames()
        self._device = _Frames()
        self._state = _State.IDLE
        self._deadline = 0.0
        self._answer_time = DEFAULT_TIMEOUT
        self._answer: bytes | None = None
        self._sequence_until = 0.0
        self._done: list[Completed] = []

    # --- the core's side ------------------------------------------------------------------

    def from_host(self, data: bytes, now: float) -> bytes:
        for byte in data:
            token = self._host.feed(byte, now)
            if token is not None:
                self._host_token(*token, now)
        return data

    def from_device(self, data: bytes, now: float) -> bytes:
        passed = bytearray()
        for byte in data:
            token = self._device.feed(byte, now)
            if token is not None and token[0] == "stray":
                continue  # a network register's 0xFF between frames: not the protocol
            passed.append(byte)
            if token is not None:
                self._device_token(*token, now)
        return bytes(passed)

    def busy(self, now: float) -> bool:
        if self._state is not _State.IDLE and now >= self._deadline:
            self._state = _State.IDLE  # the host or the register gave up
        if self._host.partial(now) or self._device.partial(now):
            return True
        return self._state is not _State.IDLE or now < self._sequence_until

    def deadline(self) -> float | None:
        times = [side.expires for side in (self._host, self._device) if side.expires]
        if self._state is not _State.IDLE:
            times.append(self._deadline)
        if self._sequence_until:
            times.append(self._sequence_until)
        return min(times) if times else None

    def completed(self) -> list[Completed]:
        done, self._done = self._done, []
        return done

    # --- the handshake --------------------------------------------------------------------

    def _to(self, state: _State, now: float, lasts: float) -> None:
        self._state = state
        self._deadline = now + lasts

    def _request(self, body: bytes) -> None:
        """A request body passed on: its answer time, and whether a stateful read goes on."""
        code = int.from_bytes(command_prefix(body), "big") if body else 0
        known = REGISTRY.get(code)
        self._answer_time = known.timeout if known else DEFAULT_TIMEOUT
        if code not in (READ_OPEN, READ_NEXT):
            self._sequence_until = 0.0  # another command ends a stateful read

    def _host_token(self, kind: str, value: Any, now: float) -> None:
        if kind == "frame":
            self._request(value[0])
            self._to(_State.SENT, now, CONTROL_TIMEOUT)
        elif kind == "v2":
            body = value[2:]  # after NUM16; empty: the host asks for the next number
            self._request(body)
            self._to(_State.V2_SENT, now,
                     (self._answer_time if body else 0.0) + CONTROL_TIMEOUT)
        elif kind == "control" and value == ENQ:
            self._to(_State.ASKED, now, CONTROL_TIMEOUT)
        elif kind == "control" and value == ACK and self._state is _State.ANSWERED:
            self._finish(now)
        elif kind == "control" and value == NAK and self._state is _State.ANSWERED:
            self._to(_State.REASK, now, FOLLOW_TIME)
        elif kind == "noise" and self._state is _State.IDLE:
            # a broken frame: the register NAKs it once the line is quiet
            self._to(_State.SENT, now, CONTROL_TIMEOUT)

    def _device_token(self, kind: str, value: Any, now: float) -> None:
        state = self._state
        if kind == "v2" and state is _State.V2_SENT:
            self._complete(value[2:], now)
        elif kind == "frame":
            self._answer = value[0]
            self._to(_State.ANSWERED, now, HOST_REPLY_TIME)
        elif kind == "control" and value == ACK and state in (_State.ASKED, _State.SENT):
            self._to(_State.WAITING, now, self._answer_time + CONTROL_TIMEOUT)
        elif kind == "control" and value == NAK and state in (_State.ASKED, _State.SENT):
            self._to(_State.READY, now, FOLLOW_TIME)

    def _finish(self, now: float) -> None:
        body, self._answer = self._answer or b"", None
        self._complete(body, now)

    def _complete(self, body: bytes, now: float) -> None:
        """The answer ``body`` reached the host: the exchange is over."""
        self._state = _State.IDLE
        prefix = command_prefix(body)
        if not body or len(body) <= len(prefix):
            return
        code = int.from_bytes(prefix, "big")
        error = body[len(prefix)]
        self._done.append(Completed(command=prefix.hex().upper(), error=error,
                                    closes_document=code in DOCUMENT_CLOSERS))
        if error == 0 and code in (READ_OPEN, READ_NEXT):
            self._sequence_until = now + SEQUENCE_GAP
        else:
            self._sequence_until = 0.0


class ShtrihExchangeRules:
    """The Shtrih-M driver's :class:`~kkt_bridge.share.rules.ExchangeRules`."""

    def tracker(self) -> ShtrihTracker:
        return ShtrihTracker()

    def open_port(self, url: str, baudrate: int | None) -> Any:
        from .plugin import open_port

        return open_port(url, baudrate=baudrate)

    def kkt_on_port(self, port: Any) -> Any:
        from .driver import ShtrihKkt

        # no ``port=``: closing this register must not close the owner's port. No command
        # without ENQ: the cash software talks to the register between two of ours, so
        # a clean exchange of ours says nothing of the line now, and an answer its program
        # left unacknowledged would pass for the answer to our frame.
        return ShtrihKkt(Transport(port, blind=False))

    def settle(self, port: Any) -> None:
        Transport(port).settle()


__all__ = ["DOCUMENT_CLOSERS", "ShtrihExchangeRules", "ShtrihTracker"]
