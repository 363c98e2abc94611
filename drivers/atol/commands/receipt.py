"""A shift and its receipts: 9A, 92, E6, 4A, 59, 49, 4F, 4D, 67, 5A (atol.md §5, all [C]
from atol4j's command classes: codes and parameter order).

Money is BCD kopecks, quantities BCD thousandths; ``test`` = 1 means "check, do not do".
"""

from __future__ import annotations

from construct import Const, Int8ub, Padding, Struct

from .base import AnswerKind, command
from .fields import Bcd, External

OPEN_SHIFT = command(
    b"\x9a", "open_shift", "открыть смену",
    request=Struct("test" / Int8ub), timeout=20.0)

OPEN_RECEIPT = command(
    b"\x92", "open_receipt", "открыть чек",
    request=Struct("flags" / Int8ub, "receipt_type" / Int8ub))

#: E6 is 104 bytes with its code in atol4j: what follows the section is zeros
_ITEM_RESERVED = 17

ITEM = command(
    b"\xe6", "item", "регистрация позиции",
    request=Struct(
        "flags" / Int8ub,  # bit0 test; atol4j always sets bit1
        "name" / External(64),
        "price" / Bcd(6),
        "quantity" / Bcd(5),
        "discount_kind" / Const(1, Int8ub),  # [?] atol4j always sends 1 here
        "discount_sign" / Int8ub,  # 0 discount, 1 surcharge
        "discount" / Bcd(6),
        "tax" / Int8ub,
        "section" / Int8ub,
        Padding(_ITEM_RESERVED),
    ),
    timeout=20.0)

#: [?] the protocol's tax numbers of E6 are in no source here; the emulator reads them as
#: the vendor driver's LIBFPTR_TAX_* order (0 the section's tax, 1 VAT 18, 2 VAT 10,
#: 3 VAT 18/118, 4 VAT 10/110, 5 VAT 0, 6 no VAT, 7 VAT 20, 8 VAT 20/120).
TAX_NUMBERS = {0: "section", 1: "vat18", 2: "vat10", 3: "vat118", 4: "vat110", 5: "vat0",
               6: "none", 7: "vat20", 8: "vat120"}

CLOSE_RECEIPT = command(
    b"\x4a", "close_receipt", "закрыть чек",
    request=Struct("test" / Int8ub, "payment_type" / Int8ub, "amount" / Bcd(5)),
    timeout=20.0)

#: payment types of 4A and 99 [C]
PAYMENT_CASH = 1
PAYMENT_ELECTRONIC = 2
PAYMENT_PREPAYMENT = 3
PAYMENT_CREDIT = 4
PAYMENT_OTHER = 5

PAYMENT = command(
    b"\x99", "payment", "оплата",
    request=Struct("test" / Int8ub, "payment_type" / Int8ub, "amount" / Bcd(5)))

CANCEL_RECEIPT = command(b"\x59", "cancel_receipt", "аннулировать чек")

CASH_IN = command(
    b"\x49", "cash_in", "внесение",
    request=Struct("test" / Int8ub, "amount" / Bcd(5)))

CASH_OUT = command(
    b"\x4f", "cash_out", "выплата",
    request=Struct("test" / Int8ub, "amount" / Bcd(5)))

CASH_IN_DRAWER = command(
    b"\x4d", "cash_in_drawer", "запрос наличности",
    answer=Struct("amount" / Bcd(7)),  # [?] 7 BCD bytes, as 58 carries its sums
    kind=AnswerKind.OWN, own=0x4D)

X_REPORT = command(
    b"\x67", "x_report", "отчёт без гашения",
    request=Struct("report_type" / Int8ub), timeout=20.0)

Z_REPORT = command(b"\x5a", "z_report", "отчёт с гашением", timeout=40.0)

#: receipt types of 92 (the same numbers as the 3F receipt state) [C]
RECEIPT_TYPES = {1: "sale", 2: "sale_return", 4: "purchase", 5: "purchase_return"}
