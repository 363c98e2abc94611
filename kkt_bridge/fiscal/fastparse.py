"""The hot path: FFD TLV parsed by hand, with byte offsets in every error.

The construct declarations in :mod:`kkt_bridge.fiscal.wire` are the specification; this module
reads the same bytes into the same values several times faster (see tools/bench_fiscal.py),
and tests/fiscal/test_fastparse.py checks on generated documents that both agree. Errors are
:class:`~kkt_bridge.errors.DocumentError` naming what broke and at which offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal

from kkt_bridge.errors import DocumentError
from kkt_bridge.fiscal import tlv
from kkt_bridge.fiscal.tags import (
    PARENT_OVERRIDES,
    TAGS,
    TagSpec,
    WireType,
    tag_name,
    tag_spec,
)
from kkt_bridge.fiscal.wire import EPOCH, MAX_DEPTH, MAX_FVLN_BYTES, MAX_VLN_BYTES, Tags, TagValue
from kkt_bridge.i18n import _

_HINT = "Прочитайте документ из ФН заново; если ошибка повторяется, сохраните его байты"


#: 7 mantissa bytes are at most 17 digits: with this precision scaleb never rounds, whatever
#: decimal context the calling thread has set
_EXACT = Context(prec=40)


class _BadValue(Exception):
    """A value that does not fit its wire type (message in Russian, no offset yet)."""


def _fixed(size: int) -> Callable[[bytes], int]:
    def decode(raw: bytes) -> int:
        if len(raw) != size:
            raise _BadValue(_("длина {length} байт, для этого типа нужно {size}").format(
                length=len(raw), size=size))
        return int.from_bytes(raw, "little")
    return decode


def _unixtime(raw: bytes) -> datetime:
    if len(raw) != 4:
        raise _BadValue(_("дата-время длиной {length} байт, нужно 4").format(length=len(raw)))
    return EPOCH + timedelta(seconds=int.from_bytes(raw, "little"))


def _vln(raw: bytes) -> int:
    if len(raw) > MAX_VLN_BYTES:
        raise _BadValue(_("VLN длиной {length} байт, допустимо до {limit}").format(
            length=len(raw), limit=MAX_VLN_BYTES))
    return int.from_bytes(raw, "little")


def _fvln(raw: bytes) -> Decimal:
    if not raw:
        raise _BadValue(_("пустое FVLN: нет байта точки"))
    if len(raw) > MAX_FVLN_BYTES:
        raise _BadValue(_("FVLN длиной {length} байт, допустимо до {limit}").format(
            length=len(raw), limit=MAX_FVLN_BYTES))
    return Decimal(int.from_bytes(raw[1:], "little")).scaleb(-raw[0], _EXACT)


def _string(raw: bytes) -> str:
    return raw.decode("cp866")


def _raw(raw: bytes) -> bytes:
    return raw


def _fiscal_sign(raw: bytes) -> bytes:
    if len(raw) != 6:
        raise _BadValue(_("фискальный признак длиной {length} байт, нужно 6").format(
            length=len(raw)))
    return raw


LEAF_DECODERS: dict[WireType, Callable[[bytes], TagValue]] = {
    WireType.BYTE: _fixed(1),
    WireType.U16: _fixed(2),
    WireType.U32: _fixed(4),
    WireType.UNIXTIME: _unixtime,
    WireType.VLN: _vln,
    WireType.FVLN: _fvln,
    WireType.STRING: _string,
    WireType.BYTES: _raw,
    WireType.FISCAL_SIGN: _fiscal_sign,
}

# Most tags mean the same under every parent: resolve them once, check overrides per call.
_PLAIN: dict[int, tuple[TagSpec, Callable[[bytes], TagValue] | None]] = {
    tag: (spec, LEAF_DECODERS.get(spec.type)) for tag, spec in TAGS.items()
}


_OVERRIDDEN = frozenset(PARENT_OVERRIDES)


def fiscal_sign_number(raw: bytes) -> int:
    """The printed fiscal sign: bytes [2..5] of tag 1077 read big-endian."""
    return int.from_bytes(raw[2:6], "big")


@dataclass(frozen=True)
class Node:
    """One TLV with where it sat in the document (for the tag-level tree)."""

    tag: int
    parent: int | None
    offset: int
    length: int
    spec: TagSpec | None
    value: TagValue  # for an STLV: the parsed pairs
    children: tuple[Node, ...] | None  # for an STLV


def _error(what: str, offset: int) -> DocumentError:
    return DocumentError(_("{what} (смещение {offset})").format(what=what, offset=offset),
                         _(_HINT))


def _header(data: bytes, pos: int, end: int, parent: int | None) -> tuple[int, int, int]:
    found = tlv.header_at(data, pos, end)
    if found is not None:
        tag, start, stop = found
        return tag, stop - start, start
    if end - pos < tlv.HEADER:
        raise _error(
            _("обрезан заголовок TLV внутри тега {parent} ({name}): осталось {left} байт из 4")
            .format(parent=parent, name=tag_name(parent) if parent is not None else "",
                    left=end - pos), pos)
    tag = data[pos] | data[pos + 1] << 8
    length = data[pos + 2] | data[pos + 3] << 8
    raise _error(
        _("обрезано значение тега {tag} ({name}): заявлено {length} байт, есть {left}")
        .format(tag=tag, name=tag_name(tag, parent), length=length, left=end - pos - 4), pos)


def _parse_run(data: bytes, pos: int, end: int, parent: int, depth: int) -> Tags:
    out: list[tuple[int, TagValue]] = []
    append = out.append
    while pos < end:
        tag, length, start = _header(data, pos, end, parent)
        stop = start + length
        override = tag_spec(tag, parent) if (parent, tag) in _OVERRIDDEN else None
        if override is not None:
            spec: TagSpec | None = override
            leaf = LEAF_DECODERS.get(override.type)
        else:
            spec, leaf = _PLAIN.get(tag, (None, _raw))
        if leaf is not None:
            try:
                append((tag, leaf(data[start:stop])))
            except _BadValue as exc:
                assert spec is not None
                raise _error(_("тег {tag} ({name}): {problem}").format(
                    tag=tag, name=tag_name(tag, parent), problem=exc), pos) from None
        else:  # STLV
            if depth >= MAX_DEPTH:
                raise _error(_("вложенность STLV глубже {limit} (тег {tag})").format(
                    limit=MAX_DEPTH, tag=tag), pos)
            append((tag, _parse_run(data, start, stop, tag, depth + 1)))
        pos = stop
    return tuple(out)


def as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise DocumentError(
        _("документ должен быть байтами, получено {kind}").format(kind=type(data).__name__),
        _("Передайте байты документа так, как их отдаёт ФН"))


def _document_header(data: bytes) -> tuple[int, int]:
    if len(data) < 4:
        raise _error(_("документ короче заголовка: {length} байт из 4").format(
            length=len(data)), 0)
    doc_type = data[0] | data[1] << 8
    length = data[2] | data[3] << 8
    if len(data) < 4 + length:
        raise _error(_("документ обрезан: заявлено {length} байт тела, получено {got}")
                     .format(length=length, got=len(data) - 4), len(data))
    if len(data) > 4 + length:
        raise _error(_("лишние {extra} байт после документа").format(
            extra=len(data) - 4 - length), 4 + length)
    return doc_type, length


def parse_document(data: bytes) -> tuple[int, Tags]:
    """A whole document (type u16, length u16, body) -> (document type, its tag pairs)."""
    data = as_bytes(data)
    doc_type, length = _document_header(data)
    return doc_type, _parse_run(data, 4, 4 + length, doc_type, 1)


def _nodes(data: bytes, pos: int, end: int, parent: int, depth: int) -> tuple[Node, ...]:
    out: list[Node] = []
    while pos < end:
        tag, length, start = _header(data, pos, end, parent)
        stop = start + length
        spec = tag_spec(tag, parent)
        wire = spec.type if spec is not None else WireType.BYTES
        if wire is WireType.STLV:
            if depth >= MAX_DEPTH:
                raise _error(_("вложенность STLV глубже {limit} (тег {tag})").format(
                    limit=MAX_DEPTH, tag=tag), pos)
            children = _nodes(data, start, stop, tag, depth + 1)
            value: TagValue = tuple((child.tag, child.value) for child in children)
            out.append(Node(tag, parent, pos, length, spec, value, children))
        else:
            try:
                value = LEAF_DECODERS[wire](data[start:stop])
            except _BadValue as exc:
                assert spec is not None
                raise _error(_("тег {tag} ({name}): {problem}").format(
                    tag=tag, name=tag_name(tag, parent), problem=exc), pos) from None
            out.append(Node(tag, parent, pos, length, spec, value, None))
        pos = stop
    return tuple(out)


def parse_nodes(data: bytes) -> Node:
    """A whole document as a :class:`Node` tree with offsets."""
    data = as_bytes(data)
    doc_type, length = _document_header(data)
    children = _nodes(data, 4, 4 + length, doc_type, 1)
    value = tuple((child.tag, child.value) for child in children)
    return Node(doc_type, None, 0, length, None, value, children)
