"""FFD TLV declared once with construct: the same declarations build and parse.

A TLV is ``tag u16 LE | length u16 LE | value``; an STLV's value is a run of TLVs; a document
read from the ФН is one STLV whose tag is the document type. Every value construct consumes
exactly the bytes its TLV's length gives (they all sit on ``GreedyBytes`` inside ``Prefixed``),
so a wrong length is an error and never a silent misread.

Python values per wire type (:data:`TagValue`): ``int`` for Byte/U16/U32/VLN, ``Decimal`` for
FVLN (its exponent is the number of digits after the point on the wire), naive ``datetime``
for UnixTime (the ФН stores local wall-clock time as if it were UTC: no time zone is ever
applied), ``str`` for String (CP866), ``bytes`` for Bytes, the fiscal sign (1077) and any tag
kkt-bridge does not know, and a tuple of ``(tag, value)`` pairs for STLV.

These declarations are the specification: the encoder uses them, and the hand-written fast
decoder in :mod:`kkt_bridge.fiscal.fastparse` is tested against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeAlias

from construct import (
    Adapter,
    Construct,
    ConstructError,
    GreedyBytes,
    Int16ul,
    Prefixed,
    Struct,
    Switch,
    stream_size,
    stream_tell,
)

from kkt_bridge.errors import DocumentError
from kkt_bridge.fiscal.tags import DOCUMENT_TYPES, WireType, tag_spec
from kkt_bridge.i18n import _

TagValue: TypeAlias = (
    "int | str | bytes | datetime | Decimal | Sequence[tuple[int, TagValue]]"
)
"""A tag's value as the encoder takes it and the decoder returns it (STLV: a tuple)."""

Tags: TypeAlias = "tuple[tuple[int, TagValue], ...]"

EPOCH = datetime(1970, 1, 1)
MAX_VLN_BYTES = 8
#: FVLN: one byte of scale, then at most seven bytes of mantissa
MAX_FVLN_BYTES = 8
#: the two bytes in front of the fiscal sign in tag 1077 on real documents
FISCAL_SIGN_PREFIX = bytes([0x31, 0x04])
#: real documents nest at most four deep (document, item, agent data / product code ...);
#: the bound keeps hostile input from exhausting the stack
MAX_DEPTH = 8


class TagValueError(ConstructError):  # type: ignore[misc]
    """A value that cannot travel in its tag's wire type (carries a Russian message)."""


def _fail(message: str) -> TagValueError:
    return TagValueError(message)


def _need_int(obj: object, what: str) -> int:
    if not isinstance(obj, int):
        raise _fail(f"{what}: ожидалось целое число, получено {type(obj).__name__}")
    return int(obj)


class _FixedUInt(Adapter):  # type: ignore[misc]
    """Byte / U16 / U32: a little-endian unsigned integer of exactly ``size`` bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(GreedyBytes)
        self.size = size

    def _decode(self, obj: bytes, context: Any, path: str) -> int:
        if len(obj) != self.size:
            raise _fail(f"длина {len(obj)} байт, для этого типа нужно {self.size}")
        return int.from_bytes(obj, "little")

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        value = _need_int(obj, "целое")
        if not 0 <= value < 1 << (8 * self.size):
            raise _fail(f"число {value} не помещается в {self.size} байт")
        return value.to_bytes(self.size, "little")


class _UnixTime(Adapter):  # type: ignore[misc]
    """u32 LE seconds of local wall-clock time counted as if it were UTC."""

    def _decode(self, obj: bytes, context: Any, path: str) -> datetime:
        if len(obj) != 4:
            raise _fail(f"дата-время длиной {len(obj)} байт, нужно 4")
        return EPOCH + timedelta(seconds=int.from_bytes(obj, "little"))

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if not isinstance(obj, datetime):
            raise _fail(f"ожидалась дата-время, получено {type(obj).__name__}")
        if obj.tzinfo is not None:
            # the ФН keeps wall-clock time; a zone-aware value would be ambiguous
            raise _fail("дата-время с часовым поясом: нужно локальное время без пояса")
        # whole seconds: the ФН has no finer resolution
        seconds = (obj.replace(microsecond=0) - EPOCH) // timedelta(seconds=1)
        if not 0 <= seconds < 1 << 32:
            raise _fail(f"дата {obj} вне диапазона 1970..2106")
        return seconds.to_bytes(4, "little")


class _Vln(Adapter):  # type: ignore[misc]
    """Unsigned little-endian integer of minimal length (zero is zero bytes)."""

    def __init__(self, max_length: int = MAX_VLN_BYTES) -> None:
        super().__init__(GreedyBytes)
        self.max_length = max_length

    def _decode(self, obj: bytes, context: Any, path: str) -> int:
        if len(obj) > self.max_length:
            raise _fail(f"VLN длиной {len(obj)} байт, допустимо до {self.max_length}")
        return int.from_bytes(obj, "little")

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        value = _need_int(obj, "VLN")
        if value < 0:
            raise _fail(f"отрицательное число {value} в VLN")
        raw = value.to_bytes((value.bit_length() + 7) // 8, "little")
        if len(raw) > self.max_length:
            raise _fail(f"число {value} длиннее {self.max_length} байт")
        return raw


class _Fvln(Adapter):  # type: ignore[misc]
    """Byte 0 = digits after the point, then the unsigned LE mantissa."""

    def _decode(self, obj: bytes, context: Any, path: str) -> Decimal:
        if not obj:
            raise _fail("пустое FVLN: нет байта точки")
        if len(obj) > MAX_FVLN_BYTES:
            raise _fail(f"FVLN длиной {len(obj)} байт, допустимо до {MAX_FVLN_BYTES}")
        return Decimal((0, tuple(map(int, str(int.from_bytes(obj[1:], "little")))), -obj[0]))

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if isinstance(obj, int) and not isinstance(obj, bool):
            obj = Decimal(obj)
        if not isinstance(obj, Decimal) or not obj.is_finite():
            raise _fail(f"FVLN: ожидалось конечное Decimal, получено {obj!r}")
        sign, digits, exponent = obj.as_tuple()
        assert isinstance(exponent, int)  # finite
        if sign and any(digits):
            raise _fail(f"отрицательное количество {obj}")
        mantissa = int("".join(map(str, digits)) or "0")
        if exponent > 17:  # 7 mantissa bytes hold 17 digits at most
            raise _fail(f"количество {obj} длиннее {MAX_FVLN_BYTES} байт")
        if exponent > 0:  # 1E+2: FVLN has no positive exponent, spell the zeros out
            mantissa *= 10**exponent
            exponent = 0
        if -exponent > 255:
            raise _fail(f"слишком много знаков после точки в {obj}")
        raw = mantissa.to_bytes((mantissa.bit_length() + 7) // 8, "little")
        if len(raw) + 1 > MAX_FVLN_BYTES:
            raise _fail(f"количество {obj} длиннее {MAX_FVLN_BYTES} байт")
        return bytes([-exponent]) + raw


class _Cp866(Adapter):  # type: ignore[misc]
    """A String: CP866 (every byte decodes, so only the length can be wrong)."""

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return obj.decode("cp866")

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if not isinstance(obj, str):
            raise _fail(f"ожидалась строка, получено {type(obj).__name__}")
        try:
            return obj.encode("cp866")
        except UnicodeEncodeError as exc:
            raise _fail(f"символ {obj[exc.start]!r} не кодируется в CP866") from exc


class _RawBytes(Adapter):  # type: ignore[misc]
    def _decode(self, obj: bytes, context: Any, path: str) -> bytes:
        return bytes(obj)

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if not isinstance(obj, bytes | bytearray | memoryview):
            raise _fail(f"ожидались байты, получено {type(obj).__name__}")
        return bytes(obj)


class _FiscalSign(_RawBytes):
    """Tag 1077: kept as its six raw bytes; an int builds ``31 04`` + the sign big-endian."""

    def _decode(self, obj: bytes, context: Any, path: str) -> bytes:
        if len(obj) != 6:
            raise _fail(f"фискальный признак длиной {len(obj)} байт, нужно 6")
        return bytes(obj)

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if isinstance(obj, int) and not isinstance(obj, bool):
            if not 0 <= obj < 1 << 32:
                raise _fail(f"фискальный признак {obj} не помещается в 4 байта")
            return FISCAL_SIGN_PREFIX + obj.to_bytes(4, "big")
        raw = super()._encode(obj, context, path)
        if len(raw) != 6:
            raise _fail(f"фискальный признак длиной {len(raw)} байт, нужно 6")
        return raw


class _Stlv(Adapter):  # type: ignore[misc]
    """An STLV value: the TLVs inside, decoded with this TLV's tag as their parent."""

    def _decode(self, obj: bytes, context: Any, path: str) -> Tags:
        depth = context._params.get("depth", 0) + 1
        if depth > MAX_DEPTH:
            raise _fail(f"вложенность STLV глубже {MAX_DEPTH}")
        result: Tags = TlvList.parse(obj, parent=context.tag, depth=depth)
        return result

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if isinstance(obj, str | bytes | bytearray) or not isinstance(obj, Sequence):
            raise _fail(f"STLV: ожидалась последовательность пар (тег, значение), "
                        f"получено {type(obj).__name__}")
        return bytes(TlvList.build(obj, parent=context.tag))


VALUE_CONSTRUCTS: dict[WireType, Construct] = {
    WireType.BYTE: _FixedUInt(1),
    WireType.U16: _FixedUInt(2),
    WireType.U32: _FixedUInt(4),
    WireType.UNIXTIME: _UnixTime(GreedyBytes),
    WireType.VLN: _Vln(),
    WireType.FVLN: _Fvln(GreedyBytes),
    WireType.STRING: _Cp866(GreedyBytes),
    WireType.BYTES: _RawBytes(GreedyBytes),
    WireType.FISCAL_SIGN: _FiscalSign(GreedyBytes),
    WireType.STLV: _Stlv(GreedyBytes),
}
"""The value construct of each wire type; an unknown tag's value stays raw bytes."""

RAW = VALUE_CONSTRUCTS[WireType.BYTES]


def wire_type(tag: int, parent: int | None) -> WireType:
    """How ``tag`` travels under ``parent`` (None: a requisite at a document's top level)."""
    spec = tag_spec(tag, parent)
    return spec.type if spec is not None else WireType.BYTES


def _wire_key(context: Any) -> WireType:
    params = context._params
    if params.get("document"):
        return WireType.STLV  # a whole document is one STLV whatever its type number
    return wire_type(context.tag, params.get("parent"))


_TlvStruct = Struct(
    "tag" / Int16ul,
    "value" / Prefixed(Int16ul, Switch(_wire_key, VALUE_CONSTRUCTS, default=RAW)),
)


class _TlvPair(Adapter):  # type: ignore[misc]
    """One TLV as a ``(tag, value)`` pair."""

    def _decode(self, obj: Any, context: Any, path: str) -> tuple[int, TagValue]:
        return (obj.tag, obj.value)

    def _encode(self, obj: object, context: Any, path: str) -> dict[str, object]:
        if not (isinstance(obj, tuple | list) and len(obj) == 2):
            raise _fail(f"ожидалась пара (тег, значение), получено {obj!r}")
        tag = _need_int(obj[0], "тег")
        if not 0 <= tag <= 0xFFFF:
            raise _fail(f"тег {tag} вне 0..65535")
        return {"tag": tag, "value": obj[1]}


Tlv = _TlvPair(_TlvStruct)
"""One TLV. Parse/build with ``parent=<tag of the enclosing STLV>``, or ``document=True``
for a whole document."""


class _TlvRun(Construct):  # type: ignore[misc]
    """TLVs one after another up to the end of the stream; a partial one is an error.

    (construct's GreedyRange would silently drop a truncated last TLV.)
    """

    def __init__(self, subcon: Construct) -> None:
        super().__init__()
        self.subcon = subcon

    def _parse(self, stream: Any, context: Any, path: str) -> Tags:
        items: list[tuple[int, TagValue]] = []
        end = stream_size(stream)
        while stream_tell(stream, path) < end:
            items.append(self.subcon._parsereport(stream, context, path))
        return tuple(items)

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        for item in obj:
            self.subcon._build(item, stream, context, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ConstructError("variable size", path=path)


TlvList = _TlvRun(Tlv)
"""The body of an STLV: a run of TLVs. Parse/build with ``parent=<the STLV's tag>``."""


def _encode_error(exc: ConstructError, what: str) -> DocumentError:
    detail = exc.args[0] if isinstance(exc, TagValueError) else exc.__class__.__name__
    return DocumentError(f"нельзя закодировать {what}: {detail}",
                         _("Проверьте значения тегов и их типы"))


def _check_lengths(tag: int, value: TagValue, parent: int | None) -> None:
    """Refuse what a ФН would refuse: strings and bytes over the tag's maximum length."""
    spec = tag_spec(tag, parent)
    if spec is None:
        return
    if spec.type is WireType.STLV and isinstance(value, Sequence) and not isinstance(
            value, str | bytes | bytearray):
        for item in value:
            if isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], int):
                _check_lengths(item[0], item[1], tag)
        return
    if spec.type is WireType.STRING and isinstance(value, str) and len(value) > spec.max_length:
        raise DocumentError(
            f"значение тега {tag} ({spec.name}) длиной {len(value)} символов, "
            f"допустимо до {spec.max_length}", _("Сократите значение"))
    if spec.type is WireType.BYTES and isinstance(value, bytes) and len(
            value) > spec.max_length:
        raise DocumentError(
            f"значение тега {tag} ({spec.name}) длиной {len(value)} байт, "
            f"допустимо до {spec.max_length}", _("Сократите значение"))


def encode_tlv(tag: int, value: TagValue, parent: int | None = None) -> bytes:
    """One TLV; the tag table decides the wire type (``parent`` picks the meaning).

    ``parent=None`` means a top-level requisite of a document (the tag's plain meaning).
    """
    _check_lengths(tag, value, parent)
    try:
        built: bytes = Tlv.build((tag, value), parent=parent)
    except ConstructError as exc:
        raise _encode_error(exc, f"тег {tag}") from exc
    if len(built) - 4 > 0xFFFF:
        raise DocumentError(f"значение тега {tag} длиннее 65535 байт", _("Сократите значение"))
    return built


def encode_document(document_type: int, tags: Sequence[tuple[int, TagValue]]) -> bytes:
    """A whole document as the ФН delivers it: type u16 LE, length u16 LE, body."""
    if not 0 <= document_type <= 0xFFFF:
        raise DocumentError(f"тип документа {document_type} вне 0..65535",
                            _("Укажите тип из DOCUMENT_TYPES"))
    if isinstance(tags, str | bytes | bytearray) or not isinstance(tags, Sequence):
        raise DocumentError(f"теги документа: ожидалась последовательность пар (тег, значение), "
                            f"получено {type(tags).__name__}",
                            _("Проверьте значения тегов и их типы"))
    for item in tags:
        if isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], int):
            _check_lengths(item[0], item[1], document_type)
    try:
        built: bytes = Tlv.build((document_type, tags), document=True)
    except ConstructError as exc:
        name = DOCUMENT_TYPES.get(document_type, f"типа {document_type}")
        raise _encode_error(exc, f"документ «{name}»") from exc
    return built


def parse_with_construct(data: bytes) -> tuple[int, Tags]:
    """Parse a whole document with the declarations (the reference decoder).

    Slower than :func:`kkt_bridge.fiscal.fastparse.parse_document`, and its errors carry the
    construct path instead of a byte offset; kept as the specification the fast path is
    checked against.
    """
    try:
        parsed = Tlv.parse(data, document=True)
    except ConstructError as exc:
        raise DocumentError(f"повреждённый документ: {exc}",
                            _("Прочитайте документ из ФН заново")) from exc
    size = 4 + int.from_bytes(data[2:4], "little")
    if len(data) != size:
        raise DocumentError(f"лишние байты после документа: {len(data) - size}",
                            _("Передайте ровно один документ"))
    return parsed[0], parsed[1]
