"""An open receipt inside the emulated register: its lines, VAT, discounts and totals.

Lines arrive from the classic commands (0x80..0x83, tax *groups* of table 6) or from FF46
(a VAT *bit mask*); both end as FFD item requisites (1059) with a 1199 VAT rate. Money is
integer kopecks, quantities Decimal (the ФН stores them as FVLN with six decimals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from kkt_bridge.fiscal.wire import TagValue

from .refusal import BAD_PARAMETERS, refuse

# 1199 VAT rates
VAT_20 = 1
VAT_10 = 2
VAT_20_120 = 3
VAT_10_110 = 4
VAT_0 = 5
VAT_NONE = 6

#: VAT inside a price: (numerator, denominator) of the share
VAT_SHARE = {VAT_20: (20, 120), VAT_10: (10, 110), VAT_20_120: (20, 120),
             VAT_10_110: (10, 110)}

#: table 6 rows (the classic commands' tax groups 1..6) -> 1199; 0 = no tax group given
TAX_GROUP_TO_VAT = {0: VAT_NONE, 1: VAT_20, 2: VAT_10, 3: VAT_0, 4: VAT_NONE,
                    5: VAT_20_120, 6: VAT_10_110}

#: FF46 tax bits -> 1199
TAX_BIT_TO_VAT = {0x01: VAT_20, 0x02: VAT_10, 0x04: VAT_0, 0x08: VAT_NONE,
                  0x10: VAT_20_120, 0x20: VAT_10_110}

#: receipt VAT requisites by rate: VAT sums for rated goods, turnover for 0 % / without VAT
VAT_TOTAL_TAGS = {VAT_20: 1102, VAT_10: 1103, VAT_0: 1104, VAT_NONE: 1105,
                  VAT_20_120: 1106, VAT_10_110: 1107}

#: receipt type of 0x8D (mode 8 high nibble) -> 1054 operation
RECEIPT_TYPE_TO_OPERATION = {0: 1, 1: 3, 2: 2, 3: 4}
OPERATION_TO_RECEIPT_TYPE = {v: k for k, v in RECEIPT_TYPE_TO_OPERATION.items()}

PAYMENT_FULL = 4  # 1214: полный расчёт
SUBJECT_GOODS = 1  # 1212: товар


def round_kopecks(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vat_of(amount: int, rate: int) -> int:
    share = VAT_SHARE.get(rate)
    if share is None:
        return 0
    return round_kopecks(Decimal(amount) * share[0] / share[1])


@dataclass
class Line:
    name: str
    quantity: Decimal
    price: int
    amount: int
    vat_rate: int
    department: int = 0
    payment_method: int = PAYMENT_FULL
    payment_subject: int = SUBJECT_GOODS
    vat_sum: int | None = None  # given by the client (FF46); None: the device computes it
    extra: list[tuple[int, TagValue]] = field(default_factory=list)  # FF4D requisites

    @property
    def vat(self) -> int:
        return self.vat_sum if self.vat_sum is not None else vat_of(self.amount, self.vat_rate)

    def adjust(self, delta: int) -> None:
        """A discount (negative) or surcharge spread onto this line: the ФН has no separate
        discount requisite, so the line's cost and unit price change."""
        amount = self.amount + delta
        if amount < 0:
            refuse(BAD_PARAMETERS)
        self.amount = amount
        self.vat_sum = None
        if self.quantity > 0:
            self.price = round_kopecks(Decimal(amount) / self.quantity)


@dataclass
class OpenReceipt:
    receipt_type: int  # 0 sale, 1 purchase, 2 sale return, 3 purchase return
    operator: int
    lines: list[Line] = field(default_factory=list)
    requisites: list[tuple[int, TagValue]] = field(default_factory=list)  # FF0C

    @property
    def operation(self) -> int:
        return RECEIPT_TYPE_TO_OPERATION[self.receipt_type]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    def spread(self, delta: int) -> None:
        """Spread a receipt-level discount (negative) or surcharge over the lines, in
        proportion to their cost; the rounding remainder goes to the last line."""
        total = self.total
        if not self.lines or total <= 0 or -delta > total:
            refuse(BAD_PARAMETERS)
        shares = [delta * line.amount // total if delta >= 0 else
                  -((-delta) * line.amount // total) for line in self.lines]
        shares[-1] += delta - sum(shares)
        # check every line before touching any: a refused command changes nothing
        if any(line.amount + share < 0 for line, share in zip(self.lines, shares, strict=True)):
            refuse(BAD_PARAMETERS)
        for line, share in zip(self.lines, shares, strict=True):
            line.adjust(share)

    def vat_totals(self) -> dict[int, int]:
        """1102..1107: VAT sums for rated lines, turnover for 0 % and without VAT."""
        totals: dict[int, int] = {}
        for line in self.lines:
            tag = VAT_TOTAL_TAGS[line.vat_rate]
            value = line.amount if line.vat_rate in (VAT_0, VAT_NONE) else line.vat
            totals[tag] = totals.get(tag, 0) + value
        return dict(sorted(totals.items()))
