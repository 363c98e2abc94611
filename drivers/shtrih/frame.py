"""The Shtrih-M "standard" link frame, declared once: ``STX | LEN | body | LRC``.

``body`` is ``CMD (1 or 2 bytes) | DATA`` for a request and ``CMD | error | DATA`` for an
answer. LEN counts the body; LRC is the XOR of LEN and the body. The driver builds requests
and parses answers with these declarations; the emulator does the opposite with the same ones.
"""

from __future__ import annotations

import binascii
from functools import reduce
from operator import xor
from typing import Any

from construct import (
    Bytes,
    Checksum,
    Const,
    Construct,
    ConstructError,
    GreedyBytes,
    Int8ub,
    Int16ul,
    Prefixed,
    RawCopy,
    SizeofError,
    StreamError,
    Struct,
    this,
)

from kkt_bridge.errors import FrameError
from kkt_bridge.i18n import _

STX = 0x02
ENQ = 0x05
ACK = 0x06
NAK = 0x15
#: Network models send a stray 0xFF after the host's ACK; readers skip it.
STRAY = 0xFF

MAX_BODY = 255
#: P116: a byte may lag its predecessor by at most 50 ms (host and device alike)
BYTE_TIMEOUT = 0.05
#: the TCP port network models serve this protocol on
TCP_PORT = 7778


def lrc(data: bytes) -> int:
    """XOR of every byte: the frame's check byte over LEN and the body."""
    return reduce(xor, data, 0)


def command_prefix(body: bytes) -> bytes:
    """The command code a request or answer body starts with: two bytes after 0xFF, else one."""
    return body[:2 if body[:1] == b"\xff" else 1]


class CommandCode(Construct):  # type: ignore[misc]
    """A command code: one byte, or two big-endian bytes when the first is 0xFF."""

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        first = stream.read(1)
        if len(first) != 1:
            raise StreamError("no command byte", path=path)
        if first[0] != 0xFF:
            return first[0]
        second = stream.read(1)
        if len(second) != 1:
            raise StreamError("truncated two-byte command", path=path)
        return 0xFF00 | second[0]

    def _build(self, obj: int, stream: Any, context: Any, path: str) -> int:
        stream.write(obj.to_bytes(2 if obj > 0xFF else 1, "big"))
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("one or two bytes", path=path)


Frame = Struct(
    "stx" / Const(bytes([STX])),
    "payload" / RawCopy(Prefixed(Int8ub, GreedyBytes)),
    "lrc" / Checksum(Int8ub, lrc, this.payload.data),
)
"""A whole frame. Build with ``Frame.build({"payload": {"value": body}})``."""

RequestBody = Struct(
    "command" / CommandCode(),
    "data" / GreedyBytes,
)

AnswerBody = Struct(
    "command" / CommandCode(),
    "error" / Int8ub,
    "data" / GreedyBytes,
)


# --- the optional "v2" link protocol of newer firmware (reference §1) -----------------------

#: ``8F | LEN16 | NUM16 | DATA | CRC16``: no ENQ/ACK/NAK, one answer frame per request frame
V2_STX = 0x8F
#: the escape byte: 8F and 9F inside a frame travel as 9F 81 and 9F 83
V2_ESC = 0x9F
V2_UNSTUFF = {0x81: V2_STX, 0x83: V2_ESC}


def v2_crc(data: bytes) -> int:
    """CRC-16/CCITT from 0xFFFF over LEN16, NUM16 and DATA."""
    return binascii.crc_hqx(data, 0xFFFF)


V2Frame = Struct(
    "payload" / RawCopy(Struct("length" / Int16ul, "content" / Bytes(this.length))),
    "crc" / Checksum(Int16ul, v2_crc, this.payload.data),
)
"""A v2 frame after 8F, unstuffed. ``content`` is NUM16 + DATA (empty: LEN 0, the host asks
for the next number); DATA is a request body (CMD + data) or an answer body (CMD + error +
data), as in the standard frame."""


def _check_size(body: bytes) -> None:
    if not 0 < len(body) <= MAX_BODY:
        raise FrameError(_("тело кадра {size} байт, допустимо 1..{limit}").format(
            size=len(body), limit=MAX_BODY))


def build_frame(body: bytes) -> bytes:
    """A whole frame, by the declaration (the specification :func:`encode_frame` follows)."""
    _check_size(body)
    return bytes(Frame.build({"payload": {"value": body}}))


def parse_frame(frame: bytes) -> bytes:
    """Return the body of a whole frame; raise FrameError on a bad STX, length or LRC."""
    try:
        parsed = Frame.parse(frame)
    except ConstructError as exc:
        raise _damaged(exc.__class__.__name__) from exc
    body: bytes = parsed.payload.value
    if len(frame) != len(body) + 3:
        raise FrameError(_("лишние байты после кадра"),
                         _("повторите команду; если ошибка повторяется, проверьте кабель"))
    return body


def _damaged(reason: str) -> FrameError:
    return FrameError(_("повреждённый кадр: {reason}").format(reason=reason),
                      _("повторите команду; если ошибка повторяется, проверьте кабель"))


# --- the fast path: the same bytes as the declaration, without construct per frame ---------
# A frame is built or checked for every command at both ends. Measured (timeit, a 40-byte
# body): build_frame 16 us, parse_frame 15 us; encode_frame 1.8 us, decode_frame 1.1 us;
# a whole 0x10 round trip costs the host about 21-26 us (tools/bench_driver.py).
# tests/drivers/shtrih/test_shtrih_frame_fastpath.py holds both equal on every input.

def encode_frame(body: bytes) -> bytes:
    """:func:`build_frame`'s bytes."""
    _check_size(body)
    size = len(body)
    return bytes((STX, size)) + body + bytes((reduce(xor, body, size),))


def decode_frame(frame: bytes) -> bytes:
    """:func:`parse_frame`'s body, or the FrameError it raises, for any bytes."""
    if not frame or frame[0] != STX:
        raise _damaged("STX")
    if len(frame) < 2 or len(frame) < frame[1] + 3:
        raise _damaged("LEN")
    size = frame[1]
    body = frame[2:2 + size]
    if not frame_ok(size, body, frame[2 + size]):
        raise _damaged("LRC")
    if len(frame) != size + 3:
        raise FrameError(_("лишние байты после кадра"),
                         _("повторите команду; если ошибка повторяется, проверьте кабель"))
    return bytes(body)


def frame_ok(size: int, body: bytes, check: int) -> bool:
    """Whether LEN ``size``, ``body`` and the LRC byte ``check`` make a good frame (what
    :func:`decode_frame` checks, for a reader that took the frame off the line in parts)."""
    return len(body) == size and xor_all(body) ^ size == check


def xor_all(data: bytes) -> int:
    """``reduce(xor, data, 0)``, the LRC's XOR, in about eight steps instead of one a byte:
    the bytes read as one integer, folded in halves until one byte is left. On the path from
    an answer to the next command: 2.2 us instead of 4.8 for an FF3B block of 200 bytes.
    tests/drivers/shtrih/test_shtrih_frame_fastpath.py holds both equal on every input."""
    value = int.from_bytes(data, "little")
    bits = 8 * len(data)
    while bits > 8:
        half = ((bits + 15) >> 4) << 3  # the upper half's offset, whole bytes
        value = (value ^ (value >> half)) & ((1 << half) - 1)
        bits = half
    return value
