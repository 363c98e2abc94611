"""Receipts: 0x8D open, 0x80..0x83 lines, 0x86/0x87 discount/surcharge, 0x85/0x8E/FF45 close,
FF46 line V2, FF0C/FF4D extra requisites, FF4B receipt discount/surcharge.

A line in a closed shift opens the shift (ФН-era firmware does) and then the receipt; every
check runs before that, so a refused line leaves the device as it was.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands.fields import NOT_GIVEN5
from kkt_bridge.drivers.shtrih.commands.receipt import (
    CLOSE_RECEIPT,
    CLOSE_RECEIPT_EXTENDED,
    CLOSE_RECEIPT_V2,
    DISCOUNT,
    OPEN_RECEIPT,
    OPERATION_V2,
    PURCHASE,
    PURCHASE_RETURN,
    RECEIPT_DISCOUNT,
    SALE,
    SALE_RETURN,
    SEND_OPERATION_TLV,
    SEND_TLV,
    SURCHARGE,
)
from kkt_bridge.emulation import documents
from kkt_bridge.emulation.archive import StoredDocument
from kkt_bridge.emulation.sale import Line, round_kopecks
from kkt_bridge.errors import DocumentError
from kkt_bridge.fiscal.facts import DOC_RECEIPT
from kkt_bridge.fiscal.fastparse import parse_document
from kkt_bridge.fiscal.wire import TagValue

from .codes import (
    OPERATION_TO_RECEIPT_TYPE,
    RECEIPT_TYPE_TO_OPERATION,
    TAX_BIT_TO_VAT,
    TAX_GROUP_TO_VAT,
)
from .core import MODE_SHIFT_CLOSED, SYSADMIN_ONLY, DeviceCore, cp866_safe
from .dispatch import handles
from .refusal import (
    BAD_PARAMETERS,
    FN_BAD_STATE,
    RECEIPT_OPEN,
    WRONG_MODE,
    refuse,
)
from .tables import T1_FORBID_ZERO_RECEIPT, T17_EXTENDED_ANSWERS

#: the 1054 operation of each classic line command
LINE_OPERATION = {SALE.code: 1, PURCHASE.code: 3, SALE_RETURN.code: 2,
                  PURCHASE_RETURN.code: 4}
MAX_DEPARTMENT = 16
MAX_TLV = 250
NAME_LIMIT = 128


def _check_can_start(core: DeviceCore, operation: int) -> None:
    """Shtrih's own checks, in its order, before the register's: every refusal comes
    before anything changes, so a refused line opens no shift."""
    if core.receipt is not None:
        if core.receipt.operation != operation:
            refuse(WRONG_MODE)
        return
    core.need_registered()
    core.need_shift_for_sale()
    if core.mode() == MODE_SHIFT_CLOSED:
        core.need_paper()  # opening the shift prints its report


def _line_name(text: str) -> str:
    # "//name" goes to the OFD without being printed: the slashes are not part of it
    if text.startswith("//"):
        text = text[2:]
    return cp866_safe(text, NAME_LIMIT)


@handles(OPEN_RECEIPT)
def open_receipt(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    if core.receipt is not None:
        refuse(RECEIPT_OPEN)
    operation = RECEIPT_TYPE_TO_OPERATION.get(request.receipt_type)
    if operation is None:
        refuse(BAD_PARAMETERS)
    _check_can_start(core, operation)
    core.start_receipt_now(operation, operator)
    return cmd.build_answer(operator=operator)


@handles(SALE, PURCHASE, SALE_RETURN, PURCHASE_RETURN)
def classic_line(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    operation = LINE_OPERATION[cmd.code]
    tax_group = request.taxes[0]
    if (request.quantity == 0 or request.department > MAX_DEPARTMENT
            or tax_group not in TAX_GROUP_TO_VAT):
        refuse(BAD_PARAMETERS)
    amount = round_kopecks(Decimal(request.quantity) * request.price / 1000)
    line = Line(name=_line_name(request.text),
                quantity=documents.quantity(thousandths=request.quantity),
                price=request.price, amount=amount, vat_rate=TAX_GROUP_TO_VAT[tax_group],
                department=request.department)
    _check_can_start(core, operation)
    core.add_line_now(operation, operator, line)
    return cmd.build_answer(operator=operator)


@handles(OPERATION_V2)
def operation_v2(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password, SYSADMIN_ONLY)
    if (request.operation not in OPERATION_TO_RECEIPT_TYPE or request.quantity == 0
            or request.department > MAX_DEPARTMENT
            or request.tax_rate not in TAX_BIT_TO_VAT
            or not 1 <= request.payment_method <= 7
            or not 1 <= request.payment_subject <= 33):
        refuse(BAD_PARAMETERS)
    amount = request.amount
    if amount == NOT_GIVEN5:
        amount = round_kopecks(Decimal(request.quantity) * request.price / 1_000_000)
    line = Line(name=_line_name(request.name),
                quantity=documents.quantity(millionths=request.quantity),
                price=request.price, amount=amount, vat_rate=TAX_BIT_TO_VAT[request.tax_rate],
                department=request.department, payment_method=request.payment_method,
                payment_subject=request.payment_subject,
                vat_sum=None if request.tax_amount == NOT_GIVEN5 else request.tax_amount)
    _check_can_start(core, request.operation)
    core.add_line_now(request.operation, operator, line)
    return cmd.build_answer()


@handles(DISCOUNT, SURCHARGE)
def line_adjustment(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    receipt = core.open_receipt()
    if not receipt.lines:
        refuse(BAD_PARAMETERS)
    delta = -request.amount if cmd is DISCOUNT else request.amount
    receipt.lines[-1].adjust(delta)
    return cmd.build_answer(operator=operator)


@handles(RECEIPT_DISCOUNT)
def receipt_adjustment(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    receipt = core.open_receipt()
    delta = request.surcharge - request.discount
    if delta:
        receipt.spread(delta)
    return cmd.build_answer()


def _parse_requisites(raw: bytes, parent: int) -> list[tuple[int, TagValue]]:
    """Client TLVs, decoded by the tag table: what does not decode is refused here."""
    if not raw or len(raw) > MAX_TLV:
        refuse(BAD_PARAMETERS)
    try:
        _type, tags = parse_document(parent.to_bytes(2, "little")
                                     + len(raw).to_bytes(2, "little") + raw)
    except DocumentError:
        refuse(BAD_PARAMETERS)
    return list(tags)


@handles(SEND_TLV)
def send_tlv(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    if core.receipt is not None:
        core.receipt.requisites += _parse_requisites(bytes(request.tlv), DOC_RECEIPT)
    elif core.pending_report is not None:
        doc_type = 1 if core.pending_report == 0 else 11
        core.pending_report_tags += _parse_requisites(bytes(request.tlv), doc_type)
    else:
        refuse(FN_BAD_STATE)
    return cmd.build_answer()


@handles(SEND_OPERATION_TLV)
def send_operation_tlv(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    receipt = core.open_receipt()
    if not receipt.lines:
        refuse(BAD_PARAMETERS)
    receipt.lines[-1].extra += _parse_requisites(bytes(request.tlv), 1059)
    return cmd.build_answer()


def _payments16(payments: list[int]) -> tuple[int, documents.Payments]:
    """Cash, then slots 2..13 electronic, 14 prepayment, 15 credit, 16 provision."""
    cash = payments[0]
    return cash, documents.Payments(
        cash=cash, electronic=sum(payments[1:13]), prepaid=payments[13],
        credit=payments[14], provision=payments[15])


def _close(core: DeviceCore, cash: int, others: documents.Payments, discount_delta: int,
           tax_system_bit: int) -> tuple[int, StoredDocument]:
    """Close the open receipt into a document: (change, document). The caller has checked
    the operator's password."""
    forbid_zero = bool(core.tables.get_int(1, 1, T1_FORBID_ZERO_RECEIPT))
    return core.close_receipt_now(cash, others, discount_delta, tax_system_bit,
                                  forbid_zero=forbid_zero)


def _percent_delta(core: DeviceCore, percent: int) -> int:
    """0x85/0x8E: a discount (positive) or surcharge (negative) in hundredths of a percent."""
    if not -9999 <= percent <= 9999:
        refuse(BAD_PARAMETERS)
    receipt = core.open_receipt()
    return -round_kopecks(Decimal(receipt.total) * percent / 10000)


@handles(CLOSE_RECEIPT)
def close_receipt(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    cash, *others = request.payments
    change, _document = _close(
        core, cash, documents.Payments(electronic=sum(others)),
        _percent_delta(core, request.discount_percent), 0)
    return cmd.build_answer(operator=operator, change=change)


@handles(CLOSE_RECEIPT_EXTENDED)
def close_receipt_extended(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    cash, others = _payments16(list(request.payments))
    change, _document = _close(core, cash, others,
                               _percent_delta(core, request.discount_percent), 0)
    return cmd.build_answer(operator=operator, change=change)


@handles(CLOSE_RECEIPT_V2)
def close_receipt_v2(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    if request.rounding > 99:
        refuse(BAD_PARAMETERS)
    cash, others = _payments16(list(request.payments))
    change, document = _close(core, cash, others, -request.rounding, request.tax_system)
    extended = core.tables.get_int(17, 1, T17_EXTENDED_ANSWERS)
    return cmd.build_answer(change=change, document_number=document.number,
                            fiscal_sign=document.fiscal_sign,
                            datetime=document.created_at if extended else None)
