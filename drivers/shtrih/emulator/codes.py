"""Shtrih encodings of FFD facts: tax groups and tax bits for 1199 VAT rates, receipt types
for 1054 operations (the facts themselves: :mod:`kkt_bridge.fiscal.facts`)."""

from __future__ import annotations

from kkt_bridge.fiscal.facts import (
    VAT_0,
    VAT_10,
    VAT_10_110,
    VAT_20,
    VAT_20_120,
    VAT_NONE,
)

#: table 6 rows (the classic commands' tax groups 1..6) -> 1199; 0 = no tax group given
TAX_GROUP_TO_VAT = {0: VAT_NONE, 1: VAT_20, 2: VAT_10, 3: VAT_0, 4: VAT_NONE,
                    5: VAT_20_120, 6: VAT_10_110}
#: the classic tax group for each 1199 rate
VAT_TO_TAX_GROUP = {VAT_20: 1, VAT_10: 2, VAT_0: 3, VAT_NONE: 4, VAT_20_120: 5, VAT_10_110: 6}

#: FF46 tax bits -> 1199
TAX_BIT_TO_VAT = {0x01: VAT_20, 0x02: VAT_10, 0x04: VAT_0, 0x08: VAT_NONE,
                  0x10: VAT_20_120, 0x20: VAT_10_110}
VAT_TO_TAX_BIT = {vat: bit for bit, vat in TAX_BIT_TO_VAT.items()}

#: receipt type of 0x8D (mode 8 high nibble) -> 1054 operation
RECEIPT_TYPE_TO_OPERATION = {0: 1, 1: 3, 2: 2, 3: 4}
OPERATION_TO_RECEIPT_TYPE = {v: k for k, v in RECEIPT_TYPE_TO_OPERATION.items()}

#: table 17 field 17 "формат ФД" for each FFD version a profile names
FFD_FORMAT = {"1.05": 2, "1.2": 4}
