"""Field types shared by the Shtrih-M command declarations.

Numbers are little-endian; money is a 5-byte integer of kopecks; device dates are
DD MM YY and times HH MM SS, one byte each; ФН dates are YY MM DD [hh mm].
Strings are cp1251 and NUL-padded (the ФН's own answers are ASCII).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from construct import (
    Adapter,
    BytesInteger,
    Int8ul,
    Int32ul,
    PaddedString,
    Struct,
    possiblestringencodings,
)

Password = Int32ul
"""Operator password, u32 LE (cashier 1..28, admin 29 -> 30, sysadmin 30)."""

#: factory passwords of table 2: the first cashier's and the system administrator's
CASHIER_PASSWORD = 1
SYSADMIN_PASSWORD = 30

Money = BytesInteger(5, signed=False, swapped=True)
"""5-byte LE kopecks; 0xFFFFFFFFFF means "not given" in FF46."""

Quantity5 = BytesInteger(5, signed=False, swapped=True)
"""Classic quantity in thousandths (1.000 kg = 1000)."""

Quantity6 = BytesInteger(6, signed=False, swapped=True)
"""FF46 quantity in millionths."""

NOT_GIVEN5 = 0xFF_FF_FF_FF_FF


# construct knows the unit size of a few encodings only; cp1251 is one byte per character
possiblestringencodings.setdefault("cp1251", 1)


def cp1251(size: int) -> Any:
    """A NUL-padded cp1251 string field of a fixed size."""
    return PaddedString(size, "cp1251")


def cp1251_text(raw: bytes) -> str:
    """A cp1251 text up to its first NUL. Undecodable bytes become U+FFFD instead of failing:
    a real device prints them as '?', and a name must never make a status query fail."""
    return bytes(raw).split(b"\x00", 1)[0].decode("cp1251", errors="replace")


def ascii_field(size: int) -> Any:
    return PaddedString(size, "ascii")


class _DeviceDate(Adapter):  # type: ignore[misc]
    """DD MM YY as three bytes (device clock)."""

    def _decode(self, obj: Any, context: Any, path: str) -> date | None:
        if obj.day == 0 and obj.month == 0:
            return None
        return date(2000 + obj.year, obj.month, obj.day)

    def _encode(self, obj: date | None, context: Any, path: str) -> dict[str, int]:
        if obj is None:
            return {"day": 0, "month": 0, "year": 0}
        return {"day": obj.day, "month": obj.month, "year": obj.year - 2000}


DeviceDate = _DeviceDate(Struct("day" / Int8ul, "month" / Int8ul, "year" / Int8ul))


class _DeviceTime(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> time:
        return time(obj.hour, obj.minute, obj.second)

    def _encode(self, obj: time, context: Any, path: str) -> dict[str, int]:
        return {"hour": obj.hour, "minute": obj.minute, "second": obj.second}


DeviceTime = _DeviceTime(Struct("hour" / Int8ul, "minute" / Int8ul, "second" / Int8ul))


class _FnDate(Adapter):  # type: ignore[misc]
    """YY MM DD (ФН validity)."""

    def _decode(self, obj: Any, context: Any, path: str) -> date | None:
        if obj.month == 0:
            return None
        return date(2000 + obj.year, obj.month, obj.day)

    def _encode(self, obj: date | None, context: Any, path: str) -> dict[str, int]:
        if obj is None:
            return {"year": 0, "month": 0, "day": 0}
        return {"year": obj.year - 2000, "month": obj.month, "day": obj.day}


FnDate = _FnDate(Struct("year" / Int8ul, "month" / Int8ul, "day" / Int8ul))


class _FnDateTime(Adapter):  # type: ignore[misc]
    """YY MM DD hh mm: the ФН's DATE_TIME (wall-clock, no seconds)."""

    def _decode(self, obj: Any, context: Any, path: str) -> datetime | None:
        if obj.month == 0:
            return None
        return datetime(2000 + obj.year, obj.month, obj.day, obj.hour, obj.minute)

    def _encode(self, obj: datetime | None, context: Any, path: str) -> dict[str, int]:
        if obj is None:
            return {"year": 0, "month": 0, "day": 0, "hour": 0, "minute": 0}
        return {"year": obj.year - 2000, "month": obj.month, "day": obj.day,
                "hour": obj.hour, "minute": obj.minute}


FnDateTime = _FnDateTime(
    Struct("year" / Int8ul, "month" / Int8ul, "day" / Int8ul, "hour" / Int8ul, "minute" / Int8ul)
)
