"""FFD facts every driver and emulator shares, defined once: document types, FFD versions,
tax systems, VAT rates and the requisites that carry them (ffd-tlv.md).

Protocol encodings of these facts (a Shtrih FF46 tax bit, an ATOL tax code) belong to the
driver that speaks them; this module holds only what the FFD itself says.
"""

from __future__ import annotations

from typing import Final

# --- document types: the STLV tag of a whole document (names: fiscal.tags.DOCUMENT_TYPES) ---
DOC_REGISTRATION: Final = 1
DOC_SHIFT_OPEN: Final = 2
DOC_RECEIPT: Final = 3
DOC_SHIFT_CLOSE: Final = 5
DOC_FN_CLOSE: Final = 6
DOC_REREGISTRATION: Final = 11
DOC_SETTLEMENT_STATE: Final = 21
DOC_CORRECTION: Final = 31

# --- requisites the ФН adds to every document ---
TAG_FD_NUMBER: Final = 1040
TAG_FN_NUMBER: Final = 1041
TAG_FISCAL_SIGN: Final = 1077

# --- 1209: FFD version codes ---
FFD_VERSIONS: Final[dict[int, str]] = {1: "1.0", 2: "1.05", 3: "1.1", 4: "1.2"}
FFD_CODES: Final[dict[str, int]] = {name: code for code, name in FFD_VERSIONS.items()}

# --- 1055 / 1062: tax systems, the bit number is the position ---
TAX_SYSTEM_BITS: Final = ("osn", "usn_income", "usn_income_expense", "envd", "esn", "patent")

# --- 1199: VAT rates ---
VAT_20: Final = 1
VAT_10: Final = 2
VAT_20_120: Final = 3
VAT_10_110: Final = 4
VAT_0: Final = 5
VAT_NONE: Final = 6
VAT_RATES: Final = (VAT_20, VAT_10, VAT_20_120, VAT_10_110, VAT_0, VAT_NONE)

#: the VAT inside a price, as (numerator, denominator) of its share
VAT_SHARE: Final[dict[int, tuple[int, int]]] = {
    VAT_20: (20, 120), VAT_10: (10, 110), VAT_20_120: (20, 120), VAT_10_110: (10, 110)}

#: a receipt's VAT requisite per rate: the VAT sum for rated goods (1102, 1103, 1106, 1107),
#: the turnover for 0 % (1104) and without VAT (1105)
VAT_TOTAL_TAGS: Final[dict[int, int]] = {VAT_20: 1102, VAT_10: 1103, VAT_0: 1104,
                                          VAT_NONE: 1105, VAT_20_120: 1106, VAT_10_110: 1107}

# --- 1054: settlement operation ---
OPERATION_SALE: Final = 1
OPERATION_SALE_RETURN: Final = 2
OPERATION_PURCHASE: Final = 3
OPERATION_PURCHASE_RETURN: Final = 4
OPERATIONS: Final = (OPERATION_SALE, OPERATION_SALE_RETURN, OPERATION_PURCHASE,
                     OPERATION_PURCHASE_RETURN)
#: operations that take cash into the drawer (the others pay it out)
CASH_INTO_DRAWER: Final = frozenset({OPERATION_SALE, OPERATION_PURCHASE_RETURN})

# --- 1214 / 1212 defaults ---
PAYMENT_FULL: Final = 4  # полный расчёт
SUBJECT_GOODS: Final = 1  # товар

#: work mode bits (1001, 1002, 1056, 1108..1110 as flags of the registration) and their tags
WORK_MODE_TAGS: Final[dict[int, int]] = {0: 1056, 1: 1002, 2: 1001, 3: 1109, 4: 1110, 5: 1108}

#: 1101: reasons for a re-registration report
REREGISTRATION_REPLACE_FN: Final = 1
REREGISTRATION_CHANGE_OFD: Final = 2
REREGISTRATION_CHANGE_DETAILS: Final = 3
REREGISTRATION_CHANGE_SETTINGS: Final = 4
