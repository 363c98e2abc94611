"""Typed fiscal documents: what a receipt, a shift report or a registration report says.

Every document keeps its full tag tree in ``tags`` (unknown tags included, as raw bytes), so
nothing read from the ФН is lost; the typed fields are the requisites people ask about.
Money is integer kopecks, quantities are ``Decimal``, times are naive wall-clock ``datetime``
(as the ФН stores them), INN and RNM come without their padding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from kkt_bridge.fiscal.facts import (
    DOC_BSO,
    DOC_BSO_CORRECTION,
    DOC_CORRECTION,
    DOC_RECEIPT,
    DOC_REGISTRATION,
    DOC_REREGISTRATION,
    DOC_SHIFT_CLOSE,
    DOC_SHIFT_OPEN,
)
from kkt_bridge.fiscal.fastparse import fiscal_sign_number, parse_document
from kkt_bridge.fiscal.tags import document_type_name
from kkt_bridge.fiscal.wire import Tags, TagValue

#: tags whose real values arrive padded with spaces or NULs (INN to 12, RNM to 20)
PADDED_TAGS = frozenset({1013, 1016, 1017, 1018, 1037, 1041, 1203, 1226, 1228})


def strip_padding(value: str) -> str:
    return value.strip(" \x00")


@dataclass(frozen=True, kw_only=True)
class FiscalDocument:
    """What every fiscal document carries; ``tags`` is the whole document as read."""

    document_type: int
    tags: Tags = ()
    fd_number: int | None = None  # 1040
    fn_number: str | None = None  # 1041
    fiscal_sign: int | None = None  # 1077, bytes [2..5] big-endian
    date_time: datetime | None = None  # 1012, wall-clock
    user: str | None = None  # 1048
    user_inn: str | None = None  # 1018
    rnm: str | None = None  # 1037
    ffd_version: int | None = None  # 1209: 2 = 1.05, 4 = 1.2

    @property
    def document_name(self) -> str:
        """The type's name for people, in the UI language."""
        return document_type_name(self.document_type)

    def get(self, tag: int, default: TagValue | None = None) -> TagValue | None:
        """The first top-level value of ``tag``."""
        for key, value in self.tags:
            if key == tag:
                return value
        return default


@dataclass(frozen=True)
class VatSums:
    """Receipt VAT sums by rate (1102..1107), kopecks; None when the tag is absent."""

    vat20: int | None = None  # 1102
    vat10: int | None = None  # 1103
    vat0: int | None = None  # 1104 (turnover at 0 %)
    no_vat: int | None = None  # 1105 (turnover without VAT)
    vat20_120: int | None = None  # 1106
    vat10_110: int | None = None  # 1107


@dataclass(frozen=True)
class UserProperty:
    """Tag 1084: an extra user requisite."""

    key: str  # 1085
    value: str  # 1086


@dataclass(frozen=True, kw_only=True)
class ReceiptItem:
    """Tag 1059: one line of a receipt."""

    name: str | None = None  # 1030
    price: int | None = None  # 1079, kopecks
    quantity: Decimal | None = None  # 1023
    sum: int | None = None  # 1043, kopecks
    vat_rate: int | None = None  # 1199: 1 = 20 % ... 6 = без НДС
    vat_sum: int | None = None  # 1200, kopecks
    payment_method: int | None = None  # 1214
    payment_subject: int | None = None  # 1212
    unit: str | None = None  # 1197 (FFD 1.05)
    quantity_measure: int | None = None  # 2108 (FFD 1.2)
    product_code: bytes | None = None  # 1162 (FFD 1.05)
    product_code_new: Tags | None = None  # 1163 (FFD 1.2)
    agent_sign: int | None = None  # 1222
    supplier_inn: str | None = None  # 1226
    tags: Tags = ()


@dataclass(frozen=True, kw_only=True)
class Receipt(FiscalDocument):
    """A receipt (3) or a БСО (4)."""

    operation_type: int | None = None  # 1054: 1 приход, 2 возврат прихода, 3 расход, 4 ...
    tax_system: int | None = None  # 1055 (one bit of the TaxSystem mask)
    cashier: str | None = None  # 1021
    cashier_inn: str | None = None  # 1203
    shift_number: int | None = None  # 1038
    receipt_number: int | None = None  # 1042
    address: str | None = None  # 1009
    place: str | None = None  # 1187
    buyer_contact: str | None = None  # 1008
    total: int | None = None  # 1020
    cash: int | None = None  # 1031
    electronic: int | None = None  # 1081
    prepaid: int | None = None  # 1215
    credit: int | None = None  # 1216
    provision: int | None = None  # 1217
    vat: VatSums = field(default_factory=VatSums)
    items: tuple[ReceiptItem, ...] = ()
    properties: tuple[UserProperty, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CorrectionReceipt(Receipt):
    """A correction receipt (31) or a БСО correction (41)."""

    correction_type: int | None = None  # 1173: 0 самостоятельно, 1 по предписанию
    correction_base_name: str | None = None  # 1174/1177
    correction_base_date: datetime | None = None  # 1174/1178
    correction_base_number: str | None = None  # 1174/1179


@dataclass(frozen=True, kw_only=True)
class ShiftReport(FiscalDocument):
    cashier: str | None = None  # 1021
    cashier_inn: str | None = None  # 1203
    shift_number: int | None = None  # 1038
    address: str | None = None  # 1009
    place: str | None = None  # 1187
    kkt_version: str | None = None  # 1188
    kkt_ffd_version: int | None = None  # 1189


@dataclass(frozen=True, kw_only=True)
class ShiftOpenReport(ShiftReport):
    """Shift open report (2)."""


@dataclass(frozen=True, kw_only=True)
class ShiftCloseReport(ShiftReport):
    """Shift close report (5)."""

    receipts_quantity: int | None = None  # 1118
    documents_quantity: int | None = None  # 1111
    unsent_documents: int | None = None  # 1097
    first_unsent_at: datetime | None = None  # 1098
    fn_exhausted: bool | None = None  # 1050
    fn_replace_urgently: bool | None = None  # 1051
    fn_memory_full: bool | None = None  # 1052
    ofd_timeout: bool | None = None  # 1053
    key_resource_days: int | None = None  # 1213


@dataclass(frozen=True, kw_only=True)
class RegistrationReport(FiscalDocument):
    """Registration (1) or re-registration (11) report."""

    reregistration: bool = False
    kkt_serial: str | None = None  # 1013
    tax_systems: int | None = None  # 1062, TaxSystem bit mask
    address: str | None = None  # 1009
    place: str | None = None  # 1187
    cashier: str | None = None  # 1021
    cashier_inn: str | None = None  # 1203
    ofd_inn: str | None = None  # 1017
    ofd_name: str | None = None  # 1046
    sender_email: str | None = None  # 1117
    fns_url: str | None = None  # 1060
    machine_number: str | None = None  # 1036
    kkt_version: str | None = None  # 1188
    kkt_ffd_version: int | None = None  # 1189
    fn_ffd_version: int | None = None  # 1190
    agent_types: int | None = None  # 1057, bit mask
    reregistration_reasons: int | None = None  # 1205 (FFD 1.05+), bit mask
    reregistration_reason: int | None = None  # 1101 (FFD 1.0)
    usage_conditions: int | None = None  # 1290 (FFD 1.2)
    # work mode (the register's table 18 "режим работы" bits, and more in FFD 1.2)
    encryption: bool | None = None  # 1056
    autonomous: bool | None = None  # 1002
    automatic: bool | None = None  # 1001
    services: bool | None = None  # 1109
    bso: bool | None = None  # 1110
    internet: bool | None = None  # 1108
    excise: bool | None = None  # 1207
    gambling: bool | None = None  # 1193
    lottery: bool | None = None  # 1126
    printer_in_machine: bool | None = None  # 1221


@dataclass(frozen=True, kw_only=True)
class GenericDocument(FiscalDocument):
    """Any other document (current state report, ФН close report ...): its tag tree."""


_T = TypeVar("_T")


def _first(pairs: Tags) -> dict[int, Any]:
    index: dict[int, Any] = {}
    for tag, value in pairs:
        if tag not in index:
            index[tag] = value
    return index


def _of(index: Mapping[int, Any], tag: int, kind: type[_T]) -> _T | None:
    """``index[tag]`` when it has the expected Python type; anything else reads as absent."""
    value = index.get(tag)
    return value if isinstance(value, kind) else None


def _text(index: Mapping[int, Any], tag: int) -> str | None:
    value = _of(index, tag, str)
    if value is not None and tag in PADDED_TAGS:
        return strip_padding(value)
    return value


def _flag(index: Mapping[int, Any], tag: int) -> bool | None:
    value = _of(index, tag, int)
    return None if value is None else bool(value)


def _common(document_type: int, tags: Tags, index: Mapping[int, Any]) -> dict[str, Any]:
    sign = _of(index, 1077, bytes)
    return {
        "document_type": document_type,
        "tags": tags,
        "fd_number": _of(index, 1040, int),
        "fn_number": _text(index, 1041),
        "fiscal_sign": None if sign is None else fiscal_sign_number(sign),
        "date_time": _of(index, 1012, datetime),
        "user": _of(index, 1048, str),
        "user_inn": _text(index, 1018),
        "rnm": _text(index, 1037),
        "ffd_version": _of(index, 1209, int),
    }


def _item(pairs: Tags) -> ReceiptItem:
    index = _first(pairs)
    return ReceiptItem(
        name=_of(index, 1030, str),
        price=_of(index, 1079, int),
        quantity=_of(index, 1023, Decimal),
        sum=_of(index, 1043, int),
        vat_rate=_of(index, 1199, int),
        vat_sum=_of(index, 1200, int),
        payment_method=_of(index, 1214, int),
        payment_subject=_of(index, 1212, int),
        unit=_of(index, 1197, str),
        quantity_measure=_of(index, 2108, int),
        product_code=_of(index, 1162, bytes),
        product_code_new=_of(index, 1163, tuple),
        agent_sign=_of(index, 1222, int),
        supplier_inn=_text(index, 1226),
        tags=pairs,
    )


def _receipt_fields(tags: Tags, index: Mapping[int, Any]) -> dict[str, Any]:
    items: list[ReceiptItem] = []
    properties: list[UserProperty] = []
    for tag, value in tags:
        if tag == 1059 and isinstance(value, tuple):
            items.append(_item(value))
        elif tag == 1084 and isinstance(value, tuple):
            prop = _first(value)
            properties.append(UserProperty(key=_of(prop, 1085, str) or "",
                                           value=_of(prop, 1086, str) or ""))
    return {
        "operation_type": _of(index, 1054, int),
        "tax_system": _of(index, 1055, int),
        "cashier": _of(index, 1021, str),
        "cashier_inn": _text(index, 1203),
        "shift_number": _of(index, 1038, int),
        "receipt_number": _of(index, 1042, int),
        "address": _of(index, 1009, str),
        "place": _of(index, 1187, str),
        "buyer_contact": _of(index, 1008, str),
        "total": _of(index, 1020, int),
        "cash": _of(index, 1031, int),
        "electronic": _of(index, 1081, int),
        "prepaid": _of(index, 1215, int),
        "credit": _of(index, 1216, int),
        "provision": _of(index, 1217, int),
        "vat": VatSums(*(_of(index, tag, int) for tag in range(1102, 1108))),
        "items": tuple(items),
        "properties": tuple(properties),
    }


def _shift_fields(index: Mapping[int, Any]) -> dict[str, Any]:
    return {
        "cashier": _of(index, 1021, str),
        "cashier_inn": _text(index, 1203),
        "shift_number": _of(index, 1038, int),
        "address": _of(index, 1009, str),
        "place": _of(index, 1187, str),
        "kkt_version": _of(index, 1188, str),
        "kkt_ffd_version": _of(index, 1189, int),
    }


def _registration_fields(document_type: int, index: Mapping[int, Any]) -> dict[str, Any]:
    return {
        "reregistration": document_type == DOC_REREGISTRATION,
        "kkt_serial": _text(index, 1013),
        "tax_systems": _of(index, 1062, int),
        "address": _of(index, 1009, str),
        "place": _of(index, 1187, str),
        "cashier": _of(index, 1021, str),
        "cashier_inn": _text(index, 1203),
        "ofd_inn": _text(index, 1017),
        "ofd_name": _of(index, 1046, str),
        "sender_email": _of(index, 1117, str),
        "fns_url": _of(index, 1060, str),
        "machine_number": _of(index, 1036, str),
        "kkt_version": _of(index, 1188, str),
        "kkt_ffd_version": _of(index, 1189, int),
        "fn_ffd_version": _of(index, 1190, int),
        "agent_types": _of(index, 1057, int),
        "reregistration_reasons": _of(index, 1205, int),
        "reregistration_reason": _of(index, 1101, int),
        "usage_conditions": _of(index, 1290, int),
        "encryption": _flag(index, 1056),
        "autonomous": _flag(index, 1002),
        "automatic": _flag(index, 1001),
        "services": _flag(index, 1109),
        "bso": _flag(index, 1110),
        "internet": _flag(index, 1108),
        "excise": _flag(index, 1207),
        "gambling": _flag(index, 1193),
        "lottery": _flag(index, 1126),
        "printer_in_machine": _flag(index, 1221),
    }


def document_from_tags(document_type: int, tags: Tags) -> FiscalDocument:
    """The typed document for already parsed tag pairs."""
    index = _first(tags)
    common = _common(document_type, tags, index)
    if document_type in (DOC_RECEIPT, DOC_BSO):
        return Receipt(**common, **_receipt_fields(tags, index))
    if document_type in (DOC_CORRECTION, DOC_BSO_CORRECTION):
        base = _of(index, 1174, tuple)
        base_index = _first(base) if base is not None else {}
        return CorrectionReceipt(
            **common, **_receipt_fields(tags, index),
            correction_type=_of(index, 1173, int),
            correction_base_name=_of(base_index, 1177, str),
            correction_base_date=_of(base_index, 1178, datetime),
            correction_base_number=_of(base_index, 1179, str),
        )
    if document_type == DOC_SHIFT_OPEN:
        return ShiftOpenReport(**common, **_shift_fields(index))
    if document_type == DOC_SHIFT_CLOSE:
        return ShiftCloseReport(
            **common, **_shift_fields(index),
            receipts_quantity=_of(index, 1118, int),
            documents_quantity=_of(index, 1111, int),
            unsent_documents=_of(index, 1097, int),
            first_unsent_at=_of(index, 1098, datetime),
            fn_exhausted=_flag(index, 1050),
            fn_replace_urgently=_flag(index, 1051),
            fn_memory_full=_flag(index, 1052),
            ofd_timeout=_flag(index, 1053),
            key_resource_days=_of(index, 1213, int),
        )
    if document_type in (DOC_REGISTRATION, DOC_REREGISTRATION):
        return RegistrationReport(**common, **_registration_fields(document_type, index))
    return GenericDocument(**common)


def decode_document(data: bytes) -> FiscalDocument:
    """One document exactly as the ФН delivers it (type, length, body) -> its typed form.

    Raises :class:`~kkt_bridge.errors.DocumentError` (and nothing else) on truncated or
    corrupt bytes; unknown tags are kept as raw bytes in ``tags``.
    """
    document_type, tags = parse_document(data)
    return document_from_tags(document_type, tags)
