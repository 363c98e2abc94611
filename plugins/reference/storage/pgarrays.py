"""One-dimensional PostgreSQL arrays packed in the binary wire format by hand.

A batch of documents goes to PostgreSQL as seven arrays (see ``Tx._add_numbered``).
psycopg's array dumper handles every element in Python with a dumper look-up each: about
6.5 us per document, more than the decode of the document. Packed here with one
``struct.pack`` per element it is about 1.5 us. Only what the back office sends: NOT NULL
bigint, text, bytea and float8 elements; the text is UTF-8, the connection's client
encoding (:mod:`.postgres` sets it).

Each packed array is a ``bytes`` subclass that says its type; :func:`register_dumpers`
teaches a psycopg connection to send it as is, in binary.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

#: ndim, has-nulls flag, element oid, then per dimension: length, lower bound
_HEADER = struct.Struct(">iiIii")
_EMPTY = struct.Struct(">iiI")
_LENGTH = struct.Struct(">i")
_INT8 = struct.Struct(">iq")
_FLOAT8 = struct.Struct(">id")


class PackedArray(bytes):
    """An array already in PostgreSQL's binary format; ``array_oid`` is its type."""

    element_oid = 0
    array_oid = 0


class Int8Array(PackedArray):
    element_oid, array_oid = 20, 1016


class TextArray(PackedArray):
    element_oid, array_oid = 25, 1009


class ByteaArray(PackedArray):
    element_oid, array_oid = 17, 1001


class Float8Array(PackedArray):
    element_oid, array_oid = 701, 1022


def _header(kind: type[PackedArray], count: int) -> bytes:
    if not count:
        return _EMPTY.pack(0, 0, kind.element_oid)
    return _HEADER.pack(1, 0, kind.element_oid, count, 1)


def int8_array(values: Sequence[int]) -> Int8Array:
    return Int8Array(_header(Int8Array, len(values))
                     + b"".join([_INT8.pack(8, v) for v in values]))


def float8_array(values: Sequence[float]) -> Float8Array:
    return Float8Array(_header(Float8Array, len(values))
                       + b"".join([_FLOAT8.pack(8, v) for v in values]))


def _varlena(kind: type[PackedArray], count: int,
             items: Iterable[bytes | bytearray]) -> bytes:
    parts: list[bytes | bytearray] = [_header(kind, count)]
    for item in items:
        parts.append(_LENGTH.pack(len(item)))
        parts.append(item)
    return b"".join(parts)


def text_array(values: Sequence[str | bytes | bytearray]) -> TextArray:
    """Text elements: a str, or bytes already UTF-8 (the FNS JSON as a request carried it,
    checked by batch.decode_batch), sent as they are."""
    return TextArray(_varlena(TextArray, len(values), (
        v.encode() if isinstance(v, str) else v for v in values)))


def bytea_array(values: Sequence[bytes | bytearray]) -> ByteaArray:
    return ByteaArray(_varlena(ByteaArray, len(values), values))


def register_dumpers(adapters: Any) -> None:
    """Send every PackedArray kind as is, in binary, under its own type."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    for kind in (Int8Array, TextArray, ByteaArray, Float8Array):
        dumper = type(f"{kind.__name__}Dumper", (Dumper,), {
            "format": Format.BINARY, "oid": kind.array_oid,
            "dump": lambda self, obj: obj})
        adapters.register_dumper(kind, dumper)
