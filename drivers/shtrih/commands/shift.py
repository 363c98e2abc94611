"""Shift and reports: 0xE0 open shift, 0x40 X report, 0x41 Z report, 0x88 cancel receipt.

Timeouts follow the vendor's driver: the Z report prints and closes the shift in the ФН
(65 s), opening a shift may wait for the ФН and the OFD exchange (120 s).
"""

from __future__ import annotations

from construct import Int8ul, Struct

from .base import command
from .fields import Password

_OPERATOR = Struct("operator" / Int8ul)
_PASSWORD = Struct("password" / Password)

OPEN_SHIFT = command(
    0xE0, "open_shift", "Открыть смену",
    request=_PASSWORD, answer=_OPERATOR, timeout=120.0,
)

X_REPORT = command(
    0x40, "x_report", "Суточный отчёт без гашения",
    request=_PASSWORD, answer=_OPERATOR,
)

Z_REPORT = command(
    0x41, "z_report", "Суточный отчёт с гашением",
    request=_PASSWORD, answer=_OPERATOR, timeout=65.0,
)

CANCEL_RECEIPT = command(
    0x88, "cancel_receipt", "Аннулирование чека",
    request=_PASSWORD, answer=_OPERATOR,
)
