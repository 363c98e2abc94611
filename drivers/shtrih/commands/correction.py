"""Correction receipts (чек коррекции): FF35 begins one, FF36 makes it (ФД type 31).

Both carry the system administrator's password, like every ФН-range command. FF36 corrects
a sum paid in cash; the ФН gives the correction the next receipt number of the shift.
"""

from __future__ import annotations

from construct import Int8ul, Int16ul, Int32ul, Struct

from .base import command
from .fields import Money, Password

# FF36 operations: the 1054 operation being corrected
CORRECTED_SALE = 1  # приход
CORRECTED_PURCHASE = 3  # расход

BEGIN_CORRECTION = command(
    0xFF35, "begin_correction", "Начать формирование чека коррекции",
    request=Struct("password" / Password),
)

CORRECTION_RECEIPT = command(
    0xFF36, "correction_receipt", "Сформировать чек коррекции",
    request=Struct("password" / Password, "amount" / Money, "operation" / Int8ul),
    answer=Struct(
        "receipt_number" / Int16ul,
        "document_number" / Int32ul,
        "fiscal_sign" / Int32ul,
    ),
)
