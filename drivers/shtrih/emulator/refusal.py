"""How a command handler refuses: raise :class:`Refusal` with the device's error code.

It never leaves :meth:`EmulatedDevice.handle`, which turns it into an error answer (echo +
code). Raising before any state changed keeps the rule that a refused command changes nothing.
"""

from __future__ import annotations

from typing import NoReturn

# Error codes of the device (reference §2), named where handlers use them.
FN_BAD_STATE = 0x02
FN_FAILURE = 0x03
FN_NO_DATA = 0x08
FN_SHIFT_OVER_24H = 0x16
BAD_PARAMETERS = 0x33
UNSUPPORTED = 0x37
PAYMENTS_LESS_THAN_TOTAL = 0x45
NOT_ENOUGH_CASH = 0x46
RECEIPT_OPEN = 0x4A
SHIFT_OVER_24H = 0x4E
WRONG_PASSWORD = 0x4F
RECEIPT_CLOSED = 0x55
TABLE_NOT_DEFINED = 0x5D
NO_PAPER = 0x6B
WRONG_SUBMODE = 0x72
WRONG_MODE = 0x73
ZERO_TOTAL = 0x8E
NOT_FISCALIZED = 0x8F


class Refusal(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"device error 0x{code:02X}")
        self.code = code


def refuse(code: int) -> NoReturn:
    raise Refusal(code)
