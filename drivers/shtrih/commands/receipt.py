"""Receipts: open, lines, discounts, close (classic 0x8x and the FFD "V2" commands).

The classic commands (0x80..0x87, 0x8D) carry the operator's password and answer the
operator number; the FFD commands (FF45, FF46, FF0C, FF4D, FF4B) carry the system
administrator's password and were added for ФН-era firmware.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from construct import (
    Adapter,
    Array,
    Construct,
    GreedyBytes,
    Int8ul,
    Int16sl,
    Int32ul,
    SizeofError,
    Struct,
)

from .base import command
from .fields import FnDateTime, Money, Password, Quantity5, Quantity6, cp1251_text


class _Text(Adapter):  # type: ignore[misc]
    """A cp1251 text to the end of the request, NUL-padded to at least ``min_size`` bytes.

    Clients send their model's line width (pyshtrih: 36, 48 or 50 bytes), so the device
    reads to the end and stops at the first NUL. Undecodable bytes print as '?' on a real
    device; they must not make the parser fail.
    """

    def __init__(self, min_size: int) -> None:
        super().__init__(GreedyBytes)
        self.min_size = min_size

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return cp1251_text(obj)

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        return obj.encode("cp1251").ljust(self.min_size, b"\x00")


def Text(min_size: int = 40) -> Any:
    return _Text(min_size)


class _TrailingDateTime(Construct):  # type: ignore[misc]
    """An optional DATE_TIME at the very end of an answer: absent (None) or 5 bytes.

    construct's ``Optional`` would build None as five zero bytes, since FnDateTime accepts
    None; a client must see no bytes at all when the device does not send the date.
    """

    def _parse(self, stream: Any, context: Any, path: str) -> datetime | None:
        rest = stream.read()
        if len(rest) < 5:
            return None
        return FnDateTime.parse(rest[:5])  # type: ignore[no-any-return]

    def _build(self, obj: datetime | None, stream: Any, context: Any, path: str) -> Any:
        if obj is not None:
            stream.write(FnDateTime.build(obj))
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("0 or 5 bytes", path=path)


TrailingDateTime = _TrailingDateTime()

Taxes = Array(4, Int8ul)
"""Four tax group numbers (0 = none, 1..4 = table 6 row) of the classic commands."""

OperatorAnswer = Struct("operator" / Int8ul)

# receipt types of 0x8D and the high nibble of mode 8
RECEIPT_SALE = 0
RECEIPT_PURCHASE = 1
RECEIPT_SALE_RETURN = 2
RECEIPT_PURCHASE_RETURN = 3

OPEN_RECEIPT = command(
    0x8D, "open_receipt", "Открыть чек",
    request=Struct("password" / Password, "receipt_type" / Int8ul),
    answer=OperatorAnswer,
)

_LINE_REQUEST = Struct(
    "password" / Password,
    "quantity" / Quantity5,  # thousandths
    "price" / Money,
    "department" / Int8ul,
    "taxes" / Taxes,
    "text" / Text(40),
)

SALE = command(0x80, "sale", "Продажа", request=_LINE_REQUEST, answer=OperatorAnswer)
PURCHASE = command(0x81, "purchase", "Покупка", request=_LINE_REQUEST, answer=OperatorAnswer)
SALE_RETURN = command(0x82, "sale_return", "Возврат продажи", request=_LINE_REQUEST,
                      answer=OperatorAnswer)
PURCHASE_RETURN = command(0x83, "purchase_return", "Возврат покупки", request=_LINE_REQUEST,
                          answer=OperatorAnswer)

_CLOSE_ANSWER = Struct("operator" / Int8ul, "change" / Money)

CLOSE_RECEIPT = command(
    0x85, "close_receipt", "Закрытие чека",
    request=Struct(
        "password" / Password,
        "payments" / Array(4, Money),  # cash, then payment types 2..4
        "discount_percent" / Int16sl,  # hundredths of a percent, -9999..9999
        "taxes" / Taxes,
        "text" / Text(40),
    ),
    answer=_CLOSE_ANSWER,
)

CLOSE_RECEIPT_EXTENDED = command(
    0x8E, "close_receipt_extended", "Закрытие чека расширенное",
    request=Struct(
        "password" / Password,
        "payments" / Array(16, Money),
        "discount_percent" / Int16sl,
        "taxes" / Taxes,
        "text" / Text(40),
    ),
    answer=_CLOSE_ANSWER,
)

_ADJUSTMENT_REQUEST = Struct(
    "password" / Password,
    "amount" / Money,
    "taxes" / Taxes,
    "text" / Text(40),
)

DISCOUNT = command(0x86, "discount", "Скидка", request=_ADJUSTMENT_REQUEST,
                   answer=OperatorAnswer)
SURCHARGE = command(0x87, "surcharge", "Надбавка", request=_ADJUSTMENT_REQUEST,
                    answer=OperatorAnswer)

# FF45 payment slots: 1 cash, 2..13 electronic, 14 prepayment, 15 credit, 16 provision
PAYMENT_SLOTS = 16
CLOSE_RECEIPT_V2 = command(
    0xFF45, "close_receipt_v2", "Закрытие чека расширенное вариант №2",
    request=Struct(
        "password" / Password,
        "payments" / Array(PAYMENT_SLOTS, Money),
        "rounding" / Int8ul,  # kopecks rounded off the total
        # VAT sums given by the client: 20 %, 10 %, 0 %, without VAT, 20/120, 10/110
        "tax_sums" / Array(6, Money),
        "tax_system" / Int8ul,  # one bit of 1055
        "text" / Text(0),
    ),
    answer=Struct(
        "change" / Money,
        "document_number" / Int32ul,
        "fiscal_sign" / Int32ul,
        # sent only when table 17 field 36 asks for it
        "datetime" / TrailingDateTime,
    ),
)

# FF46 operations (1054)
OPERATION_SALE = 1
OPERATION_SALE_RETURN = 2
OPERATION_PURCHASE = 3
OPERATION_PURCHASE_RETURN = 4

# FF46 tax rate bits
TAX_20 = 0x01
TAX_10 = 0x02
TAX_0 = 0x04
TAX_NONE = 0x08
TAX_20_120 = 0x10
TAX_10_110 = 0x20

OPERATION_V2 = command(
    0xFF46, "operation_v2", "Операция V2",
    request=Struct(
        "password" / Password,
        "operation" / Int8ul,
        "quantity" / Quantity6,  # millionths
        "price" / Money,
        "amount" / Money,  # NOT_GIVEN5: the device computes price x quantity
        "tax_amount" / Money,  # NOT_GIVEN5: the device computes it
        "tax_rate" / Int8ul,
        "department" / Int8ul,
        "payment_method" / Int8ul,  # 1214
        "payment_subject" / Int8ul,  # 1212
        "name" / Text(0),  # up to 128 bytes; a leading "//" goes to the OFD unprinted
    ),
)

SEND_TLV = command(
    0xFF0C, "send_tlv", "Передать произвольную TLV структуру",
    request=Struct("password" / Password, "tlv" / GreedyBytes),
)

SEND_OPERATION_TLV = command(
    0xFF4D, "send_operation_tlv", "Передать произвольную TLV структуру, привязанную к операции",
    request=Struct("password" / Password, "tlv" / GreedyBytes),
)

RECEIPT_DISCOUNT = command(
    0xFF4B, "receipt_discount", "Скидка, надбавка на чек",
    request=Struct(
        "password" / Password,
        "discount" / Money,
        "surcharge" / Money,
        "tax" / Int8ul,
        "text" / Text(0),
    ),
)

