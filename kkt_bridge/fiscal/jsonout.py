"""The two JSON shapes of a fiscal document.

* :func:`to_fns_json`: the FNS receipt JSON (the shape the tax service's receipt check and most
  receipt tools read). It serves every document type: a tag always has the same key
  (1041 is ``fiscalDriveNumber`` in a receipt and in a registration report alike), and
  ``receiptCode`` is the document type.
* :func:`to_tree`: the tag-level tree: tag, name, type, offset, length, value or children.
  ``name`` is the one field written for a person, so it follows the UI language (Russian
  by default); the machine keys (``tag``, ``json``, ``type``) and the values never do.

JSON value conventions, the same in both shapes:

* money and counters: integers (kopecks);
* date-times: ISO 8601 without a zone (``2015-07-09T05:11:38``): the ФН keeps wall-clock time;
* decimals (FVLN, e.g. quantity): **strings** with the scale as on the wire (``"2.000000"``),
  because a JSON float cannot hold a fiscal quantity exactly;
* bytes (product codes, unknown tags): lowercase hex strings;
* the fiscal sign 1077: the printed number (bytes [2..5] big-endian) as an integer;
* INN and RNM: without their padding.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from kkt_bridge.fiscal.documents import PADDED_TAGS, FiscalDocument, strip_padding
from kkt_bridge.fiscal.fastparse import Node, as_bytes, fiscal_sign_number, parse_nodes
from kkt_bridge.fiscal.tags import WireType, document_type_name, tag_name, tag_spec
from kkt_bridge.fiscal.wire import Tags, TagValue, encode_document

JsonValue = Any


def json_value(tag: int, value: TagValue) -> JsonValue:
    """A leaf value in the JSON conventions above."""
    if isinstance(value, str):
        return strip_padding(value) if tag in PADDED_TAGS else value
    if isinstance(value, bytes):
        if tag == 1077 and len(value) == 6:
            return fiscal_sign_number(value)
        return value.hex()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _fns_key(tag: int, parent: int) -> tuple[str, bool]:
    spec = tag_spec(tag, parent)
    if spec is None:
        return f"tag{tag}", False  # unknown: still exported, under a key naming the tag
    return spec.json_name, spec.repeated


class _Repeat(list[Any]):
    """A list made from a tag seen twice (so a third occurrence joins it, not nests)."""


def _fns_object(pairs: Tags, parent: int) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {}
    for tag, value in pairs:
        key, repeated = _fns_key(tag, parent)
        if isinstance(value, tuple):
            converted: JsonValue = _fns_object(value, tag)
        else:
            converted = json_value(tag, value)
        if repeated:
            out.setdefault(key, []).append(converted)
        elif key in out:  # a tag that should appear once appeared again: keep every value
            previous = out[key]
            if isinstance(previous, _Repeat):
                previous.append(converted)
            else:
                out[key] = _Repeat([previous, converted])
        else:
            out[key] = converted
    return out


def to_fns_json(doc: FiscalDocument) -> dict[str, JsonValue]:
    """The FNS receipt JSON of any document; ``json.dumps`` takes it as is."""
    out: dict[str, JsonValue] = {"receiptCode": doc.document_type}
    out.update(_fns_object(doc.tags, doc.document_type))
    return _plain(out)


def _plain(value: JsonValue) -> JsonValue:
    """Turn helper list subclasses into plain lists (json.dumps would manage; == would not)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _tree_node(node: Node) -> dict[str, JsonValue]:
    spec = node.spec
    out: dict[str, JsonValue] = {
        "tag": node.tag,
        "name": tag_name(node.tag, node.parent),
        "type": spec.type.value if spec is not None else (
            WireType.STLV.value if node.parent is None else "unknown"),
        "offset": node.offset,
        "length": node.length,
    }
    if spec is not None:
        out["json"] = spec.json_name
    if node.children is not None:
        out["children"] = [_tree_node(child) for child in node.children]
    else:
        assert not isinstance(node.value, tuple)
        out["value"] = json_value(node.tag, node.value)
        if spec is not None and spec.type is WireType.FISCAL_SIGN:
            assert isinstance(node.value, bytes)
            out["raw"] = node.value.hex()
    return out


def to_tree(data: bytes | FiscalDocument) -> dict[str, JsonValue]:
    """The tag-level tree of a document's bytes (or of a decoded document, re-encoded)."""
    if isinstance(data, FiscalDocument):
        data = encode_document(data.document_type, data.tags)
    root = parse_nodes(as_bytes(data))
    tree = _tree_node(root)
    tree["name"] = document_type_name(root.tag)  # "name": for people, in the UI language
    return tree
