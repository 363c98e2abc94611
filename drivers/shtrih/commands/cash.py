"""Cash in and cash out (внесение / выплата): not receipts, but counted by the device."""

from __future__ import annotations

from construct import Int8ul, Int16ul, Struct

from .base import command
from .fields import Money, Password

_REQUEST = Struct("password" / Password, "amount" / Money)
_ANSWER = Struct("operator" / Int8ul, "document_number" / Int16ul)

CASH_IN = command(0x50, "cash_in", "Внесение", request=_REQUEST, answer=_ANSWER)
CASH_OUT = command(0x51, "cash_out", "Выплата", request=_REQUEST, answer=_ANSWER)
