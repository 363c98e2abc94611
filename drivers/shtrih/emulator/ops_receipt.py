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
from kkt_bridge.errors import DocumentError
from kkt_bridge.fiscal.fastparse import parse_document
from kkt_bridge.fiscal.wire import TagValue

from . import documents
from .archive import DOC_RECEIPT, StoredDocument
from .core import MODE_SHIFT_CLOSED, SYSADMIN_ONLY, DeviceCore, cp866_safe
from .dispatch import handles
from .refusal import (
    BAD_PARAMETERS,
    FN_BAD_STATE,
    FN_SHIFT_OVER_24H,
    NOT_ENOUGH_CASH,
    PAYMENTS_LESS_THAN_TOTAL,
    RECEIPT_CLOSED,
    RECEIPT_OPEN,
    WRONG_MODE,
    ZERO_TOTAL,
    refuse,
)
from .sale import (
    OPERATION_TO_RECEIPT_TYPE,
    TAX_BIT_TO_VAT,
    TAX_GROUP_TO_VAT,
    Line,
    OpenReceipt,
    round_kopecks,
)
from .tables import T1_FORBID_ZERO_RECEIPT, T17_EXTENDED_ANSWERS

LINE_RECEIPT_TYPE = {SALE.code: 0, PURCHASE.code: 1, SALE_RETURN.code: 2,
                     PURCHASE_RETURN.code: 3}
MAX_DEPARTMENT = 16
MAX_TLV = 250
NAME_LIMIT = 128
#: 1054 operations that take cash in (the others pay it out)
CASH_INTO_DRAWER = frozenset({1, 4})


def _start_receipt(core: DeviceCore, receipt_type: int, operator: int) -> OpenReceipt:
    """The open receipt of this type, opening it (and the shift) when there is none.

    Every refusal comes before anything changes: a refused line opens no shift."""
    _check_can_start(core, receipt_type)
    if core.receipt is not None:
        return core.receipt
    if core.mode() == MODE_SHIFT_CLOSED:
        core.open_shift_now(operator)
    core.receipt = OpenReceipt(receipt_type, operator)
    return core.receipt


def _check_can_start(core: DeviceCore, receipt_type: int) -> None:
    if core.receipt is not None:
        if core.receipt.receipt_type != receipt_type:
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
    if request.receipt_type not in OPERATION_TO_RECEIPT_TYPE.values():
        refuse(BAD_PARAMETERS)
    _start_receipt(core, request.receipt_type, operator)
    return cmd.build_answer(operator=operator)


@handles(SALE, PURCHASE, SALE_RETURN, PURCHASE_RETURN)
def classic_line(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    receipt_type = LINE_RECEIPT_TYPE[cmd.code]
    tax_group = request.taxes[0]
    if (request.quantity == 0 or request.department > MAX_DEPARTMENT
            or tax_group not in TAX_GROUP_TO_VAT):
        refuse(BAD_PARAMETERS)
    amount = round_kopecks(Decimal(request.quantity) * request.price / 1000)
    line = Line(name=_line_name(request.text),
                quantity=documents.quantity(thousandths=request.quantity),
                price=request.price, amount=amount, vat_rate=TAX_GROUP_TO_VAT[tax_group],
                department=request.department)
    _start_receipt(core, receipt_type, operator).lines.append(line)
    return cmd.build_answer(operator=operator)


@handles(OPERATION_V2)
def operation_v2(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password, SYSADMIN_ONLY)
    receipt_type = OPERATION_TO_RECEIPT_TYPE.get(request.operation)
    if (receipt_type is None or request.quantity == 0 or request.department > MAX_DEPARTMENT
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
    _start_receipt(core, receipt_type, operator).lines.append(line)
    return cmd.build_answer()


def _open_receipt(core: DeviceCore) -> OpenReceipt:
    if core.receipt is None:
        refuse(RECEIPT_CLOSED)
    return core.receipt


@handles(DISCOUNT, SURCHARGE)
def line_adjustment(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    receipt = _open_receipt(core)
    if not receipt.lines:
        refuse(BAD_PARAMETERS)
    delta = -request.amount if cmd is DISCOUNT else request.amount
    receipt.lines[-1].adjust(delta)
    return cmd.build_answer(operator=operator)


@handles(RECEIPT_DISCOUNT)
def receipt_adjustment(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    receipt = _open_receipt(core)
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
    receipt = _open_receipt(core)
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
    receipt = _open_receipt(core)
    if core.shift_expired():
        # the receipt was opened in time, but the ФН signs nothing after 24 hours
        refuse(FN_SHIFT_OVER_24H)
    state = core.state
    registered_taxes = core.registered_tax_systems
    if tax_system_bit == 0:
        tax_system_bit = registered_taxes & -registered_taxes  # the lowest registered one
    if tax_system_bit & (tax_system_bit - 1) or not tax_system_bit & registered_taxes:
        refuse(BAD_PARAMETERS)
    if not receipt.lines:
        refuse(ZERO_TOTAL)
    # work on a copy: a refusal below must leave the receipt as it was
    draft = OpenReceipt(receipt.receipt_type, receipt.operator,
                        [Line(**vars(line)) for line in receipt.lines],
                        list(receipt.requisites))
    for line in draft.lines:
        line.extra = list(line.extra)
    if discount_delta:
        draft.spread(discount_delta)
    total = draft.total
    if total == 0 and state.tables.get_int(1, 1, T1_FORBID_ZERO_RECEIPT):
        refuse(ZERO_TOTAL)
    non_cash = others.electronic + others.prepaid + others.credit + others.provision
    if cash + non_cash < total:
        refuse(PAYMENTS_LESS_THAN_TOTAL)
    if non_cash > total:
        refuse(BAD_PARAMETERS)  # change is given in cash only
    change = cash + non_cash - total
    kept = cash - change
    into_drawer = kept if draft.operation in CASH_INTO_DRAWER else -kept
    if state.cash_in_drawer + into_drawer < 0:
        refuse(NOT_ENOUGH_CASH)
    core.need_paper()
    payments = documents.Payments(cash=kept, electronic=others.electronic,
                                  prepaid=others.prepaid, credit=others.credit,
                                  provision=others.provision)
    shift = state.shift
    number = shift.receipts + 1
    tags = documents.receipt(core.requisites(draft.operator), core.document_time(),
                             shift.number, number, draft, tax_system_bit, payments)

    def closed(_document: StoredDocument) -> None:
        shift.receipts = number
        state.cash_in_drawer += into_drawer
        core.receipt = None

    document = core.issue(DOC_RECEIPT, tags, {"operation": draft.operation, "total": total},
                          closed)
    return change, document


def _percent_delta(core: DeviceCore, percent: int) -> int:
    """0x85/0x8E: a discount (positive) or surcharge (negative) in hundredths of a percent."""
    if not -9999 <= percent <= 9999:
        refuse(BAD_PARAMETERS)
    receipt = _open_receipt(core)
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
    extended = core.state.tables.get_int(17, 1, T17_EXTENDED_ANSWERS)
    return cmd.build_answer(change=change, document_number=document.number,
                            fiscal_sign=document.fiscal_sign,
                            datetime=document.created_at if extended else None)
