"""Registration (fiscalization) of the register in its ФН: FF05, FF06, FF34."""

from __future__ import annotations

from construct import Int8ul, Int32ul, Struct

from .base import command
from .fields import Password, ascii_field
from .receipt import TrailingDateTime

# FF05 report types
REPORT_REGISTRATION = 0
REPORT_CHANGE_WITH_FN_REPLACEMENT = 1
REPORT_CHANGE = 2

# FF34 reasons
REASON_FN_REPLACED = 1
REASON_OFD_CHANGED = 2
REASON_REQUISITES_CHANGED = 3
REASON_SETTINGS_CHANGED = 4

BEGIN_REGISTRATION_REPORT = command(
    0xFF05, "begin_registration_report", "Начать отчёт о регистрации ККТ",
    request=Struct("password" / Password, "report_type" / Int8ul),
)

_RESULT = Struct(
    "document_number" / Int32ul,
    "fiscal_sign" / Int32ul,
    "datetime" / TrailingDateTime,  # newer firmware appends it
)

# INN and RNM are NUL-padded by clients; the ФН keeps them space-padded.
# FF34 is FF06 with the reason appended.
_REQUISITES = (
    "password" / Password,
    "inn" / ascii_field(12),
    "rnm" / ascii_field(20),
    "tax_systems" / Int8ul,
    "work_mode" / Int8ul,
)

REGISTRATION_REPORT = command(
    0xFF06, "registration_report", "Сформировать отчёт о регистрации ККТ",
    request=Struct(*_REQUISITES),
    answer=_RESULT,
)

REREGISTRATION_REPORT = command(
    0xFF34, "reregistration_report", "Сформировать отчёт о перерегистрации ККТ",
    request=Struct(*_REQUISITES, "reason" / Int8ul),
    answer=_RESULT,
)
