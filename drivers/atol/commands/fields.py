"""Field types of the ATOL upper level (atol.md §3).

Classic commands carry numbers as big-endian BCD (money in kopecks, quantities in
thousandths) and dates as one BCD byte per part; the ФН's own answers inside ``A4 xx`` are
binary little-endian with the ФН's 5-byte DATE_TIME. Text travels in ATOL's "external" code
page: CP866 letters with № at 0x24, $ at 0xFC, € at 0xF2 and ■ at 0xFF.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from construct import Adapter, Bytes, ConstructError, GreedyBytes, Int8ul, PaddedString, Struct

# --- BCD ------------------------------------------------------------------------------------


def bcd_encode(value: int, size: int) -> bytes:
    if value < 0:
        raise ConstructError(f"BCD cannot carry {value}")
    digits = f"{value:0{size * 2}d}"
    if len(digits) > size * 2:
        raise ConstructError(f"{value} does not fit {size} BCD bytes")
    return bytes.fromhex(digits)


def bcd_decode(raw: bytes) -> int:
    text = raw.hex()
    if not text.isdigit():
        raise ConstructError(f"not BCD: {raw.hex(' ').upper()}")
    return int(text) if text else 0


class _Bcd(Adapter):  # type: ignore[misc]
    def __init__(self, size: int, *, little: bool = False) -> None:
        super().__init__(Bytes(size))
        self.size = size
        self.little = little

    def _decode(self, obj: bytes, context: Any, path: str) -> int:
        return bcd_decode(bytes(obj)[::-1] if self.little else bytes(obj))

    def _encode(self, obj: int, context: Any, path: str) -> bytes:
        raw = bcd_encode(int(obj), self.size)
        return raw[::-1] if self.little else raw


def Bcd(size: int, *, little: bool = False) -> Any:
    """An unsigned BCD number of ``size`` bytes, big-endian unless ``little``."""
    return _Bcd(size, little=little)


class _BcdDate(Adapter):  # type: ignore[misc]
    """YY MM DD, one BCD byte each; all zeros is "no date"."""

    def _decode(self, obj: bytes, context: Any, path: str) -> date | None:
        year, month, day = (bcd_decode(bytes([b])) for b in obj)
        if not month:
            return None
        try:
            return date(2000 + year, month, day)
        except ValueError as exc:
            raise ConstructError(str(exc)) from exc

    def _encode(self, obj: date | None, context: Any, path: str) -> bytes:
        if obj is None:
            return bytes(3)
        return b"".join(bcd_encode(part, 1) for part in (obj.year - 2000, obj.month, obj.day))


BcdDate = _BcdDate(Bytes(3))


class _BcdTime(Adapter):  # type: ignore[misc]
    """hh mm ss, one BCD byte each."""

    def _decode(self, obj: bytes, context: Any, path: str) -> time:
        hour, minute, second = (bcd_decode(bytes([b])) for b in obj)
        try:
            return time(hour, minute, second)
        except ValueError as exc:
            raise ConstructError(str(exc)) from exc

    def _encode(self, obj: time, context: Any, path: str) -> bytes:
        return b"".join(bcd_encode(part, 1) for part in (obj.hour, obj.minute, obj.second))


BcdTime = _BcdTime(Bytes(3))


# --- the ФН's binary fields -------------------------------------------------------------------


class _FnDateTime(Adapter):  # type: ignore[misc]
    """YY MM DD hh mm, binary: the ФН's DATE_TIME; all zeros is "none"."""

    def _decode(self, obj: Any, context: Any, path: str) -> datetime | None:
        if obj.month == 0:
            return None
        try:
            return datetime(2000 + obj.year, obj.month, obj.day, obj.hour, obj.minute)
        except ValueError as exc:
            raise ConstructError(str(exc)) from exc

    def _encode(self, obj: datetime | None, context: Any, path: str) -> dict[str, int]:
        if obj is None:
            return {"year": 0, "month": 0, "day": 0, "hour": 0, "minute": 0}
        return {"year": obj.year - 2000, "month": obj.month, "day": obj.day,
                "hour": obj.hour, "minute": obj.minute}


FnDateTime = _FnDateTime(Struct("year" / Int8ul, "month" / Int8ul, "day" / Int8ul,
                                "hour" / Int8ul, "minute" / Int8ul))


class _FnDate(Adapter):  # type: ignore[misc]
    """YY MM DD, binary (ФН validity)."""

    def _decode(self, obj: Any, context: Any, path: str) -> date | None:
        if obj.month == 0:
            return None
        try:
            return date(2000 + obj.year, obj.month, obj.day)
        except ValueError as exc:
            raise ConstructError(str(exc)) from exc

    def _encode(self, obj: date | None, context: Any, path: str) -> dict[str, int]:
        if obj is None:
            return {"year": 0, "month": 0, "day": 0}
        return {"year": obj.year - 2000, "month": obj.month, "day": obj.day}


FnDate = _FnDate(Struct("year" / Int8ul, "month" / Int8ul, "day" / Int8ul))


def ascii_field(size: int) -> Any:
    """A NUL-padded ASCII field of the ФН (numbers, INN, RNM)."""
    return PaddedString(size, "ascii")


# --- the external code page -----------------------------------------------------------------

#: where the external code page leaves CP866 (atol.md §3, [C] atol4j ExternalCharsetEncoder)
_SPECIAL = {0x24: "№", 0xFC: "$", 0xF2: "€", 0xFF: "■"}
_DECODE: dict[int, str] = {}
for _code in range(256):
    _DECODE[_code] = _SPECIAL.get(_code) or bytes([_code]).decode("cp866")
_ENCODE: dict[str, int] = {char: code for code, char in _DECODE.items()}
for _code, _char in _SPECIAL.items():
    _ENCODE[_char] = _code


def external_encode(text: str) -> bytes:
    """Text in the external code page; a character it lacks becomes '?' as on the device."""
    return bytes(_ENCODE.get(char, 0x3F) for char in text)


def external_decode(raw: bytes) -> str:
    return "".join(_DECODE[byte] for byte in raw)


class _External(Adapter):  # type: ignore[misc]
    def __init__(self, size: int | None) -> None:
        super().__init__(GreedyBytes if size is None else Bytes(size))
        self.size = size

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        raw = bytes(obj)
        if self.size is not None:
            raw = raw.split(b"\x00", 1)[0]
        return external_decode(raw)

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        raw = external_encode(obj)
        if self.size is None:
            return raw
        if len(raw) > self.size:
            raise ConstructError(f"text longer than {self.size} bytes")
        return raw.ljust(self.size, b"\x00")


def External(size: int | None = None) -> Any:
    """Text in the external code page: NUL-padded to ``size``, or to the end when None."""
    return _External(size)


__all__ = [
    "Bcd", "BcdDate", "BcdTime", "External", "FnDate", "FnDateTime", "ascii_field",
    "bcd_decode", "bcd_encode", "external_decode", "external_encode",
]
