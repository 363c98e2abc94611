"""Typed documents decoded from realistic FFD 1.05 and 1.2 documents of every type."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

import pytest
from fiscal_samples import (
    CORRECTION_105,
    CURRENT_STATE,
    FISCAL_SIGN,
    FN_NUMBER,
    RECEIPT_12,
    RECEIPT_105,
    REGISTRATION,
    REREGISTRATION,
    SHIFT_CLOSE,
    SHIFT_OPEN,
    WHEN,
)

from kkt_bridge.fiscal import (
    DOCUMENT_TYPES,
    CorrectionReceipt,
    GenericDocument,
    Receipt,
    RegistrationReport,
    ShiftCloseReport,
    ShiftOpenReport,
    UserProperty,
    VatSums,
    decode_document,
    encode_document,
)
from kkt_bridge.kkt import TaxSystem


def test_ffd105_receipt() -> None:
    doc = decode_document(encode_document(3, RECEIPT_105))
    assert isinstance(doc, Receipt)
    assert doc.document_name == "Кассовый чек"
    assert (doc.fd_number, doc.fn_number, doc.fiscal_sign) == (82, FN_NUMBER, FISCAL_SIGN)
    assert doc.date_time == WHEN
    assert (doc.user_inn, doc.rnm) == ("7701234567", "0000000221017090")  # padding stripped
    assert doc.user == 'ООО "Ромашка"'
    assert doc.ffd_version == 2
    assert (doc.operation_type, doc.tax_system) == (1, TaxSystem.OSN)
    assert (doc.cashier, doc.cashier_inn) == ("Иванова А. А.", "500100732259")
    assert (doc.shift_number, doc.receipt_number) == (17, 82)
    assert doc.address == "г. Москва, ул. Тверская, д. 1"
    assert doc.place == "Магазин №1"
    assert (doc.total, doc.cash, doc.electronic) == (8985, 985, 8000)
    assert (doc.prepaid, doc.credit, doc.provision) == (0, 0, 0)
    assert doc.vat == VatSums(vat20=1148, vat0=2100)
    assert doc.properties == (UserProperty("Номер заказа", "A-1001"),)

    shtrih, bread = doc.items
    assert shtrih.name == "Молоко 3,2% 1 л"
    assert (shtrih.price, shtrih.quantity, shtrih.sum) == (1050, Decimal("2.000000"), 2100)
    assert (shtrih.vat_rate, shtrih.payment_method, shtrih.payment_subject) == (5, 4, 10)
    assert shtrih.unit == "шт"
    assert shtrih.product_code == bytes.fromhex("444d0460012345670000")
    assert shtrih.agent_sign == 4
    assert shtrih.supplier_inn == "7725123456"
    assert (1230, "RUS") in shtrih.tags  # every item tag kept
    assert (bread.vat_rate, bread.vat_sum, bread.quantity) == (1, 1148, Decimal("1.500"))
    assert sum(item.sum or 0 for item in doc.items) == doc.total


def test_ffd12_receipt() -> None:
    doc = decode_document(encode_document(3, RECEIPT_12))
    assert isinstance(doc, Receipt)
    assert doc.ffd_version == 4
    assert (doc.operation_type, doc.tax_system) == (2, TaxSystem.USN_INCOME)
    (item,) = doc.items
    assert item.quantity == Decimal("1")
    assert item.quantity_measure == 0
    assert item.unit is None
    assert item.product_code_new == ((1302, "4600000000017"),)
    assert item.vat_sum == 1000
    assert doc.get(1256) == ((1227, "Сидоров С. С."), (1228, "165000123456"))
    assert doc.properties == (UserProperty("Стол", "7"),)


def test_correction_receipt() -> None:
    doc = decode_document(encode_document(31, CORRECTION_105))
    assert isinstance(doc, CorrectionReceipt)
    assert doc.correction_type == 0
    assert doc.correction_base_name == "Выручка без чека"
    assert doc.correction_base_date == datetime(2024, 3, 17)
    assert doc.correction_base_number == "б/н"
    assert (doc.total, doc.cash, doc.vat.vat20) == (15000, 15000, 2500)
    assert doc.items == ()
    assert doc.fiscal_sign == 0x00BC614E


def test_registration_report() -> None:
    doc = decode_document(encode_document(1, REGISTRATION))
    assert isinstance(doc, RegistrationReport)
    assert not doc.reregistration
    assert doc.kkt_serial == "0012345678901234"
    assert doc.tax_systems == TaxSystem.OSN | TaxSystem.USN_INCOME
    assert (doc.user_inn, doc.rnm, doc.fn_number) == ("7701234567", "0000000221017090",
                                                      FN_NUMBER)
    assert (doc.ofd_inn, doc.ofd_name) == ("7704211201", 'ООО "Тестовый ОФД"')
    assert (doc.encryption, doc.autonomous, doc.automatic) == (False, False, False)
    assert (doc.services, doc.bso, doc.internet, doc.excise) == (True, False, False, True)
    assert (doc.gambling, doc.lottery, doc.printer_in_machine) == (False, False, False)
    assert (doc.kkt_ffd_version, doc.fn_ffd_version, doc.ffd_version) == (2, 2, 2)
    assert doc.kkt_version == "2.0"
    assert doc.sender_email == "shop@example.ru"
    assert doc.fd_number == 1
    assert doc.fiscal_sign == 0x112233FF


def test_reregistration_report() -> None:
    doc = decode_document(encode_document(11, REREGISTRATION))
    assert isinstance(doc, RegistrationReport)
    assert doc.reregistration
    assert doc.reregistration_reasons == 0b100
    assert doc.fd_number == 300
    assert doc.document_name == DOCUMENT_TYPES[11]


def test_shift_reports() -> None:
    opened = decode_document(encode_document(2, SHIFT_OPEN))
    assert isinstance(opened, ShiftOpenReport)
    assert (opened.shift_number, opened.cashier, opened.kkt_version) == (17, "Иванова А. А.",
                                                                         "2.0")
    closed = decode_document(encode_document(5, SHIFT_CLOSE))
    assert isinstance(closed, ShiftCloseReport)
    assert (closed.shift_number, closed.receipts_quantity, closed.documents_quantity) == (
        17, 12, 14)
    assert (closed.unsent_documents, closed.first_unsent_at) == (2, datetime(2024, 3, 17, 21, 50))
    assert (closed.fn_exhausted, closed.ofd_timeout) == (False, True)
    counters = closed.get(1194)
    assert isinstance(counters, tuple)
    assert dict(counters)[1134] == 12


@pytest.mark.parametrize(("doc_type", "cls"), [
    (3, Receipt), (4, Receipt), (31, CorrectionReceipt), (41, CorrectionReceipt),
    (1, RegistrationReport), (11, RegistrationReport), (2, ShiftOpenReport),
    (5, ShiftCloseReport), (21, GenericDocument), (6, GenericDocument), (7, GenericDocument),
    (99, GenericDocument),
])
def test_every_document_type_has_its_class(doc_type: int, cls: type) -> None:
    doc = decode_document(encode_document(doc_type, CURRENT_STATE))
    assert type(doc) is cls
    assert doc.document_type == doc_type
    assert (doc.fd_number, doc.fn_number, doc.user_inn) == (83, FN_NUMBER, "7701234567")


def test_documents_are_frozen() -> None:
    doc = decode_document(encode_document(3, RECEIPT_105))
    assert isinstance(doc, Receipt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.total = 1  # type: ignore[misc]


def test_unknown_tags_survive_in_the_tree() -> None:
    tags = (*RECEIPT_105[:3], (9999, b"\x01\x02"), (1059, ((1030, "x"), (8888, b"?"))))
    doc = decode_document(encode_document(3, tags))
    assert doc.get(9999) == b"\x01\x02"
    assert isinstance(doc, Receipt)
    assert doc.items[0].name == "x"
    assert (8888, b"?") in doc.items[0].tags


def test_empty_document_decodes_with_nothing_known() -> None:
    doc = decode_document(encode_document(3, ()))
    assert isinstance(doc, Receipt)
    assert (doc.total, doc.items, doc.fiscal_sign, doc.date_time) == (None, (), None, None)
