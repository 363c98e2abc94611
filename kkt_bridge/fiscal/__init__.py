"""Fiscal documents (FFD 1.05 / 1.2 TLV): decode into typed documents, encode from tags.

Public API::

    encode_document(document_type, tags) -> bytes      # type u16 LE, length u16 LE, body
    encode_tlv(tag, value, parent=None) -> bytes
    decode_document(data) -> FiscalDocument           # Receipt, ShiftOpenReport, ...
    parse_document(data) -> (document_type, tags)      # the tag pairs, as encode takes them
    to_fns_json(doc) -> dict                           # the FNS receipt JSON shape
    to_tree(data) -> dict                              # tag-level tree
    DOCUMENT_TYPES: dict[int, str]

``TagValue`` is ``int | str | bytes | datetime | Decimal | Sequence[(tag, TagValue)]``; the tag
table (:mod:`kkt_bridge.fiscal.tags`) decides the wire type. Truncated or corrupt bytes raise
:class:`kkt_bridge.errors.DocumentError` and nothing else.
"""

from __future__ import annotations

from kkt_bridge.fiscal.documents import (
    CorrectionReceipt,
    FiscalDocument,
    GenericDocument,
    Receipt,
    ReceiptItem,
    RegistrationReport,
    ShiftCloseReport,
    ShiftOpenReport,
    ShiftReport,
    UserProperty,
    VatSums,
    decode_document,
    document_from_tags,
)
from kkt_bridge.fiscal.fastparse import fiscal_sign_number, parse_document
from kkt_bridge.fiscal.jsonout import to_fns_json, to_tree
from kkt_bridge.fiscal.tags import DOCUMENT_TYPES, TAGS, TagSpec, WireType, tag_spec
from kkt_bridge.fiscal.wire import Tags, TagValue, encode_document, encode_tlv

__all__ = [
    "DOCUMENT_TYPES",
    "TAGS",
    "CorrectionReceipt",
    "FiscalDocument",
    "GenericDocument",
    "Receipt",
    "ReceiptItem",
    "RegistrationReport",
    "ShiftCloseReport",
    "ShiftOpenReport",
    "ShiftReport",
    "TagSpec",
    "TagValue",
    "Tags",
    "UserProperty",
    "VatSums",
    "WireType",
    "decode_document",
    "document_from_tags",
    "encode_document",
    "encode_tlv",
    "fiscal_sign_number",
    "parse_document",
    "tag_spec",
    "to_fns_json",
    "to_tree",
]
