"""An open receipt inside the virtual register: its lines, VAT, discounts and totals.

A front end turns its protocol's item commands into :class:`Line` with a 1199 VAT rate
(Shtrih: a table 6 tax group or an FF46 tax bit); every line ends as an FFD item (1059).
Money is integer kopecks, quantities Decimal (the ФН stores them as FVLN with six decimals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from kkt_bridge.fiscal.facts import (
    PAYMENT_FULL,
    SUBJECT_GOODS,
    VAT_0,
    VAT_NONE,
    VAT_SHARE,
    VAT_TOTAL_TAGS,
)
from kkt_bridge.fiscal.wire import TagValue

from .refusal import Reason, refuse


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
            refuse(Reason.BAD_PARAMETERS)
        self.amount = amount
        self.vat_sum = None
        if self.quantity > 0:
            self.price = round_kopecks(Decimal(amount) / self.quantity)


@dataclass
class OpenReceipt:
    operation: int  # 1054: 1 sale, 2 sale return, 3 purchase, 4 purchase return
    operator: int  # the front end's number for the cashier
    lines: list[Line] = field(default_factory=list)
    requisites: list[tuple[int, TagValue]] = field(default_factory=list)  # FF0C

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    def spread(self, delta: int) -> None:
        """Spread a receipt-level discount (negative) or surcharge over the lines, in
        proportion to their cost; the rounding remainder goes to the last line."""
        total = self.total
        if not self.lines or total <= 0 or -delta > total:
            refuse(Reason.BAD_PARAMETERS)
        shares = [delta * line.amount // total if delta >= 0 else
                  -((-delta) * line.amount // total) for line in self.lines]
        shares[-1] += delta - sum(shares)
        # check every line before touching any: a refused command changes nothing
        if any(line.amount + share < 0 for line, share in zip(self.lines, shares, strict=True)):
            refuse(Reason.BAD_PARAMETERS)
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
