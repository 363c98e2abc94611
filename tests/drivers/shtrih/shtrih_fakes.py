"""A scripted Shtrih-M device on the master side of a real pseudo-terminal.

Not the emulator: just enough of the device's link handshake to drive the host transport
through each path (NAK, held answers, bad LRC, stray 0xFF, silence), with an answer
function the test supplies. Every wait is bounded; the thread stops when the test ends.
"""

from __future__ import annotations

import os
import select
import termios
import threading
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kkt_bridge.drivers.shtrih.commands import REGISTRY
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK, STRAY, STX, build_frame
from kkt_bridge.link import open_link

Handler = Callable[[bytes], bytes]

_POLL = 0.02
#: silence inside a frame after which the register forgets it
_BYTE_TIMEOUT = 0.1


@dataclass
class Script:
    """How the fake device misbehaves; counters count down as the misbehaviour happens."""

    held: bytes | None = None  # an answer held from before the host connected
    corrupt_answers: int = 0  # send this many answers with a wrong LRC
    # send this many answers with a LEN this much too small (a LEN byte hit on the line):
    # the frame's bytes all go, so its tail follows what the host takes for its end
    short_len_answers: int = 0
    short_by: int = 4
    nak_frames: int = 0  # NAK this many received frames
    # take this many frames, but the ACK reaches the host as NAK (hit on the line)
    acks_read_as_nak: int = 0
    stray: bool = False  # 0xFF after every ACK from the host, and before each control byte
    silent: bool = False  # answer nothing at all
    ignore_enqs: int = 0  # stay silent on this many ENQs
    hang_after_ack: bool = False  # ACK a frame, run it, then never send the answer
    lose_acks: int = 0  # the host's next ACKs of an answer never arrive: it stays held
    # a frame that comes while an answer is held is swallowed (no ACK, not run)
    ignore_frames_while_held: bool = False
    # the device's line speed: at any other speed the host's bytes are noise to it
    line_speed: int | None = None
    enq_speeds: list[int] = field(default_factory=list)  # the host's line speed at each ENQ
    received: list[bytes] = field(default_factory=list)  # request bodies, in order


class FakeDevice:
    def __init__(self, fd: int, handler: Handler, script: Script) -> None:
        self.fd = fd
        self.handler = handler
        self.script = script
        self.held: bytes | None = script.held
        self.log = bytearray()  # every byte the host sent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-shtrih", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        # the host's last ACK may still sit in the pty: keep the log complete
        while select.select([self.fd], [], [], 0)[0]:
            try:
                chunk = os.read(self.fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            self.log += chunk

    def _read(self, n: int = 1, within: float | None = None) -> bytes:
        """Up to ``n`` bytes; with ``within``, fewer when the line stays silent that long
        (the register's byte timeout inside a frame)."""
        data = b""
        silent = 0.0
        while len(data) < n and not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], _POLL)
            if not ready:
                silent += _POLL
                if within is not None and silent >= within:
                    return data
            else:
                silent = 0.0
                try:
                    chunk = os.read(self.fd, n - len(data))
                except OSError:  # the host closed the slave
                    return data
                self.log += chunk
                data += chunk
        return data

    def _send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def _control(self, byte: int) -> None:
        self._send((bytes([STRAY]) if self.script.stray else b"") + bytes([byte]))

    def _frame(self, body: bytes) -> bytes:
        frame = bytearray(build_frame(body))
        if self.script.corrupt_answers > 0:
            self.script.corrupt_answers -= 1
            frame[-1] ^= 0x5A
        elif self.script.short_len_answers > 0:
            self.script.short_len_answers -= 1
            frame[1] -= self.script.short_by
        return bytes(frame)

    def _run(self) -> None:
        while not self._stop.is_set():
            first = self._read(1)
            if not first or self.script.silent:
                continue
            byte = first[0]
            if self.script.line_speed is not None:
                speed = _speed_of(self.fd)
                if byte == ENQ:
                    self.script.enq_speeds.append(speed)
                if speed != self.script.line_speed:
                    continue  # framing errors on a real line: the device hears nothing
            if byte == ENQ:
                if self.script.ignore_enqs > 0:
                    self.script.ignore_enqs -= 1
                elif self.held is not None:
                    self._send(bytes([ACK]) + self._frame(self.held))
                else:
                    self._control(NAK)
            elif byte == STX:
                size = self._read(1, within=_BYTE_TIMEOUT)
                if not size:
                    continue
                rest = self._read(size[0] + 1, within=_BYTE_TIMEOUT)
                if len(rest) < size[0] + 1:
                    continue  # a frame cut short is forgotten, as by the register
                body = rest[:-1]
                if build_frame(body)[-1] != rest[-1]:
                    self._control(NAK)  # a frame whose LRC is wrong (another protocol's bytes)
                    continue
                if self.held is not None and self.script.ignore_frames_while_held:
                    continue
                if self.script.nak_frames > 0:
                    self.script.nak_frames -= 1
                    self._control(NAK)
                    continue
                self.script.received.append(body)
                self.held = self.handler(body)
                if self.script.hang_after_ack:
                    self._send(bytes([ACK]))
                    self.script.silent = True
                    continue
                ack = ACK
                if self.script.acks_read_as_nak > 0:
                    self.script.acks_read_as_nak -= 1
                    ack = NAK
                self._send(bytes([ack]) + self._frame(self.held))
            elif byte == ACK:
                if self.held is not None and self.script.lose_acks > 0:
                    self.script.lose_acks -= 1
                    continue
                self.held = None
                if self.script.stray:
                    self._send(bytes([STRAY]))
            # NAK from the host: keep the answer until the next ENQ


_SPEEDS = {getattr(termios, f"B{speed}"): speed
           for speed in (2400, 4800, 9600, 19200, 38400, 57600, 115200)}


def _speed_of(fd: int) -> int:
    """The line speed the host set on the pty (the master sees the slave's settings)."""
    return _SPEEDS.get(termios.tcgetattr(fd)[5], 0)


@contextmanager
def fake_port(handler: Handler, script: Script | None = None, *,
              timeout: float = 0.05) -> Iterator[tuple[Any, FakeDevice]]:
    """An open pyserial port (slave side, via open_link) wired to a FakeDevice."""
    master, slave = os.openpty()
    tty.setraw(master)
    device = FakeDevice(master, handler, script or Script())
    port = open_link(os.ttyname(slave), baudrate=115200, timeout=timeout)
    os.close(slave)  # pyserial holds its own descriptor of the slave
    device.start()
    try:
        yield port, device
    finally:
        device.stop()
        port.close()
        os.close(master)


def code_of(body: bytes) -> int:
    return (0xFF00 | body[1]) if body[0] == 0xFF else body[0]


class Register:
    """Answers declared commands from a table of answer fields (or a per-command function)."""

    def __init__(self, answers: dict[int, Any]) -> None:
        self.answers = answers
        self.requests: list[tuple[int, Any]] = []

    def __call__(self, body: bytes) -> bytes:
        code = code_of(body)
        cmd = REGISTRY.get(code)
        if cmd is None:  # refused as a real register refuses what it does not know
            return body[:2 if body[:1] == b"\xff" else 1] + b"\x37"
        fields = cmd.parse_request(body)
        self.requests.append((code, fields))
        answer = self.answers.get(code)
        if callable(answer):
            answer = answer(fields)
        if answer is None:
            return cmd.error_answer(0x37)
        if isinstance(answer, int):
            return cmd.error_answer(answer)
        return cmd.build_answer(**answer)
