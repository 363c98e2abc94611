"""The ATOL transport v3 frame, declared once: ``FE | LEN0 | LEN1 | ID | DATA | CRC``.

LEN counts the *unescaped* DATA bytes as 7 + 8 bits (LEN0 = len & 0x7F, LEN1 = len >> 7),
so the length bytes never need escaping. Inside DATA and CRC, FE becomes FD EE and FD
becomes FD ED. CRC-8 (poly 0x31, init 0xFF, MSB first) runs over ID and the unescaped
DATA. Reference atol.md §2.1, every rule [C]. The driver builds requests and parses answers
with :data:`Frame`; the emulator does the opposite with the same declaration.
"""

from __future__ import annotations

import io
from typing import Any

from construct import (
    Adapter,
    Bytes,
    Checksum,
    Const,
    ConstructError,
    Int8ub,
    Int16ul,
    Struct,
    Subconstruct,
    stream_read,
    stream_write,
    this,
)

from kkt_bridge.errors import FrameError
from kkt_bridge.i18n import _

STX = 0xFE
ESC = 0xFD
#: what follows ESC for an escaped STX and an escaped ESC
T_STX = 0xEE
T_ESC = 0xED

#: host packet ids run 1..0xDF and wrap to 0 (not to 1): atol4j's maxIdTest [C]
MAX_PACKET_ID = 0xDF
#: the id of packets the register sends on its own (asynchronous task results) [C]
ASYNC_ID = 0xF0
#: the largest DATA the 7+8-bit length can say without LEN1 reaching FD (atol.md §2.1)
MAX_DATA = 0x7F | (0xFC << 7)
#: STX, two length bytes, id and CRC: a frame's bytes besides DATA (before escaping)
OVERHEAD = 5


def crc8(data: bytes) -> int:
    """CRC-8, polynomial 0x31, init 0xFF, no reflection, no final XOR."""
    crc = 0xFF
    for byte in data:
        crc = _CRC_TABLE[crc ^ byte]
    return crc


def _crc_table() -> tuple[int, ...]:
    table = []
    for value in range(256):
        crc = value
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x31) if crc & 0x80 else crc << 1
        table.append(crc & 0xFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def escape(data: bytes) -> bytes:
    return data.replace(b"\xfd", b"\xfd\xed").replace(b"\xfe", b"\xfd\xee")


def next_packet_id(current: int) -> int:
    """The id after ``current``: 1, 2, ... 0xDF, 0, 1, ..."""
    return 0 if current >= MAX_PACKET_ID else current + 1


class _Length(Adapter):  # type: ignore[misc]
    """Two bytes, 7 low bits then the rest: a value the low byte's top bit never touches."""

    def _decode(self, obj: int, context: Any, path: str) -> int:
        low, high = obj & 0xFF, obj >> 8
        if low & 0x80:
            raise ConstructError(f"LEN0 0x{low:02X} has its top bit set", path=path)
        return low | (high << 7)

    def _encode(self, obj: int, context: Any, path: str) -> int:
        if not 0 <= obj <= MAX_DATA:
            raise ConstructError(f"length {obj} out of 0..{MAX_DATA}", path=path)
        return (obj & 0x7F) | ((obj >> 7) << 8)


Length = _Length(Int16ul)


class Escaped(Subconstruct):  # type: ignore[misc]
    """``size`` unescaped bytes carried FD-escaped on the wire; ``subcon`` parses them."""

    def __init__(self, subcon: Any, size: Any) -> None:
        super().__init__(subcon)
        self.size = size

    def _parse(self, stream: Any, context: Any, path: str) -> Any:
        size = self.size(context) if callable(self.size) else self.size
        plain = bytearray()
        while len(plain) < size:
            byte = stream_read(stream, 1, path)[0]
            if byte == ESC:
                follower = stream_read(stream, 1, path)[0]
                if follower == T_STX:
                    byte = STX
                elif follower == T_ESC:
                    byte = ESC
                else:
                    raise ConstructError(f"FD {follower:02X} is no escape", path=path)
            elif byte == STX:
                raise ConstructError("an unescaped FE inside a frame", path=path)
            plain.append(byte)
        return self.subcon._parsereport(io.BytesIO(bytes(plain)), context, path)

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        inner = io.BytesIO()
        built = self.subcon._build(obj, inner, context, path)
        wire = escape(inner.getvalue())
        stream_write(stream, wire, len(wire), path)
        return built

    def _sizeof(self, context: Any, path: str) -> int:
        raise ConstructError("escaped size depends on the data", path=path)


Frame = Struct(
    "stx" / Const(bytes([STX])),
    "length" / Length,
    "id" / Int8ub,
    "body" / Escaped(
        Struct(
            "data" / Bytes(this._.length),
            "crc" / Checksum(Int8ub, crc8, lambda ctx: bytes([ctx._.id]) + ctx.data),
        ),
        this.length + 1,
    ),
)
"""A whole frame. Build with ``Frame.build({"length": len(data), "id": n,
"body": {"data": data}})``; :func:`build_frame` and :func:`parse_frame` do the bookkeeping."""


def build_frame(packet_id: int, data: bytes) -> bytes:
    """The wire bytes of one packet; an empty ``data`` is the "send it again" frame.

    The same bytes as :data:`Frame` builds (a property test holds them equal), written
    without construct: every packet of the hot path is built here, at a quarter of the cost.
    """
    if not 0 <= packet_id < ESC:  # the id is never escaped: FD and FE cannot be ids
        raise FrameError(_("идентификатор пакета {id} вне 0..252").format(id=packet_id))
    size = len(data)
    if size > MAX_DATA:
        raise FrameError(_("данные кадра {size} байт, допустимо до {limit}").format(
            size=size, limit=MAX_DATA))
    crc = _CRC_TABLE[0xFF ^ packet_id]
    for byte in data:
        crc = _CRC_TABLE[crc ^ byte]
    return (bytes((STX, size & 0x7F, size >> 7, packet_id))
            + escape(bytes(data) + bytes((crc,))))


def build_frame_declared(packet_id: int, data: bytes) -> bytes:
    """:func:`build_frame` through the construct declaration: the spec the fast path keeps."""
    return bytes(Frame.build({"length": len(data), "id": packet_id, "body": {"data": data}}))


def parse_frame(frame: bytes) -> tuple[int, bytes]:
    """(packet id, unescaped data) of one whole frame; FrameError on anything malformed.

    The fast path of :func:`parse_frame_declared` (a property test holds them equal on any
    bytes): unescape, then check the length and the CRC."""
    if len(frame) < OVERHEAD or frame[0] != STX or frame[1] & 0x80:
        return parse_frame_declared(frame)  # let the declaration say what is wrong
    length = frame[1] | (frame[2] << 7)
    body = bytes(frame[4:])
    if ESC in body:
        if _bad_escape(body):
            return parse_frame_declared(frame)
        body = body.replace(b"\xfd\xee", b"\xfe").replace(b"\xfd\xed", b"\xfd")
    if len(body) != length + 1 or frame.find(STX, 4) >= 0:
        return parse_frame_declared(frame)
    crc = _CRC_TABLE[0xFF ^ frame[3]]
    for byte in body:
        crc = _CRC_TABLE[crc ^ byte]
    if crc:  # the CRC over ID, data and the CRC itself is 0 for a good frame
        return parse_frame_declared(frame)
    return frame[3], body[:-1]


def _bad_escape(body: bytes) -> bool:
    index = body.find(ESC)
    while index >= 0:
        if body[index + 1:index + 2] not in (b"\xed", b"\xee"):
            return True
        index = body.find(ESC, index + 2)
    return False


def parse_frame_declared(frame: bytes) -> tuple[int, bytes]:
    """:func:`parse_frame` through the construct declaration (and the error it raises)."""
    try:
        parsed = Frame.parse(frame)
        consumed = _wire_size(frame, parsed.length)
    except (ConstructError, IndexError) as exc:
        raise FrameError(
            _("повреждённый кадр АТОЛ: {reason}").format(reason=exc.__class__.__name__),
            _("повторите команду; если ошибка повторяется, проверьте кабель")) from exc
    if consumed != len(frame):
        raise FrameError(_("лишние байты после кадра АТОЛ"),
                         _("повторите команду; если ошибка повторяется, проверьте кабель"))
    return parsed.id, bytes(parsed.body.data)


def _wire_size(frame: bytes, length: int) -> int:
    """How many wire bytes a frame with ``length`` data bytes occupies in ``frame``."""
    plain, offset = 0, 4
    while plain < length + 1:
        offset += 2 if frame[offset] == ESC else 1
        plain += 1
    return offset


def frame_size(buffer: bytes | bytearray) -> int | None:
    """The wire size of the frame at the start of ``buffer`` (which starts with STX), or None
    while too few bytes are in: the receiver's rule of atol.md §2.1 (each FD adds one)."""
    end = len(buffer)
    if end < OVERHEAD:
        return None
    need = ((buffer[1] & 0x7F) | (buffer[2] << 7)) + 1  # DATA and CRC, unescaped
    offset = 4
    # from one FD to the next at C speed (find), instead of a Python step a byte: the walk
    # of frame_size_walk, which tests/drivers/atol/test_atol_fast_paths.py holds it equal to
    while need:
        stop = offset + need
        escape_at = buffer.find(ESC, offset, min(stop, end))
        if escape_at < 0:  # no FD before the frame's end: plain bytes to it
            return stop if stop <= end else None
        need -= escape_at - offset + 1  # the plain bytes before it, and the pair it starts
        offset = escape_at + 2
    return offset if offset <= end else None


def frame_size_walk(buffer: bytes | bytearray) -> int | None:
    """:func:`frame_size` a byte at a time: the receiver's rule as atol.md §2.1 states it."""
    if len(buffer) < OVERHEAD:
        return None
    length = (buffer[1] & 0x7F) | (buffer[2] << 7)
    need = length + 1
    offset = 4
    while need:
        if offset >= len(buffer):
            return None
        offset += 2 if buffer[offset] == ESC else 1
        need -= 1
    return offset if offset <= len(buffer) else None




class Received:
    """One frame out of the byte stream: ``data`` is None when it arrived damaged."""

    __slots__ = ("data", "packet_id", "raw")

    def __init__(self, packet_id: int, data: bytes | None, raw: bytes) -> None:
        self.packet_id = packet_id
        self.data = data
        self.raw = raw

    @property
    def damaged(self) -> bool:
        return self.data is None

    def __repr__(self) -> str:
        return f"Received(id=0x{self.packet_id:02X}, data={self.data!r})"


class FrameReader:
    """The receiver of atol.md §2.1, shared by the driver and the emulator.

    Bytes go in with :meth:`feed`; whole frames come out of :meth:`next`. Bytes before an STX
    are dropped; an FE inside a frame's span (escaping never leaves one there) means the frame
    was cut, so it comes out damaged and reading starts again at that FE.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.dropped = 0  # bytes skipped that were no frame: noise on the line

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def needed(self) -> int:
        """How many more bytes the frame being read needs at least: a whole frame's five
        when nothing is buffered (no packet is shorter, so a reader asking for them wakes
        once a packet, not once for its STX and again for the rest), 1 after noise."""
        buffer = self._buffer
        if not buffer:
            return OVERHEAD
        if len(buffer) < OVERHEAD:
            return OVERHEAD - len(buffer) if buffer[0] == STX else 1
        length = (buffer[1] & 0x7F) | (buffer[2] << 7)
        return max(1, OVERHEAD + length - len(buffer))

    def next(self) -> Received | None:
        buffer = self._buffer
        if not buffer:
            return None  # the transport asks before every read
        start = buffer.find(STX)
        if start < 0:
            self.dropped += len(buffer)
            buffer.clear()
            return None
        if start:
            self.dropped += start
            del buffer[:start]
        size = frame_size(buffer)
        restart = buffer.find(STX, 1, size if size is not None else len(buffer))
        if restart > 0:
            return self._damaged(restart)
        if size is None:
            return None
        raw = bytes(buffer[:size])
        del buffer[:size]
        try:
            packet_id, data = parse_frame(raw)
        except FrameError:
            return Received(raw[3], None, raw)
        return Received(packet_id, data, raw)

    def cut(self) -> Received | None:
        """The line went quiet in the middle of a frame: hand it out damaged."""
        if len(self._buffer) < 4:
            self.dropped += len(self._buffer)
            self._buffer.clear()
            return None
        return self._damaged(len(self._buffer))

    def _damaged(self, end: int) -> Received:
        raw = bytes(self._buffer[:end])
        del self._buffer[:end]
        return Received(raw[3] if len(raw) > 3 else 0, None, raw)


__all__ = [
    "ASYNC_ID",
    "ESC",
    "MAX_DATA",
    "MAX_PACKET_ID",
    "STX",
    "Frame",
    "FrameReader",
    "Received",
    "build_frame",
    "crc8",
    "escape",
    "frame_size",
    "frame_size_walk",
    "next_packet_id",
    "parse_frame",
]
