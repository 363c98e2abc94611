"""Requests to the ФН (``A4 xx``): the ФН's own command code and answer after ``55 00``.

Numbers are binary little-endian, dates the ФН's DATE_TIME (atol.md §4.1–4.3).
"""

from __future__ import annotations

from construct import GreedyBytes, Int8ul, Int16ul, Int32ul, Struct

from .base import AnswerKind, command
from .fields import FnDate, FnDateTime, ascii_field

FN_STATUS = command(
    b"\xa4\x30", "fn_status", "статус ФН",
    answer=Struct(
        "lifecycle" / Int8ul,
        "current_document" / Int8ul,
        "document_data" / Int8ul,
        "shift_open" / Int8ul,
        "warnings" / Int8ul,
        "last_document_at" / FnDateTime,
        "fn_number" / ascii_field(16),
        "last_fd_number" / Int32ul,
        "rest" / GreedyBytes,  # later ФН add fields; the reference names none
    ),
    kind=AnswerKind.DATA)  # [C2]

FN_NUMBER = command(
    b"\xa4\x31", "fn_number", "номер ФН",
    answer=Struct("fn_number" / ascii_field(16)), kind=AnswerKind.DATA)  # [C]

FN_VALIDITY = command(
    b"\xa4\x32", "fn_validity", "срок действия ФН",
    answer=Struct("valid_until" / FnDate, "registrations_left" / Int8ul,
                  "registrations_done" / Int8ul),
    kind=AnswerKind.DATA)  # [C]

FN_VERSION = command(
    b"\xa4\x33", "fn_version", "версия ФН",
    answer=Struct("version" / ascii_field(16), "serial_build" / Int8ul),
    kind=AnswerKind.DATA)  # [C]

FFD_VERSION = command(
    b"\xa4\x3a", "ffd_version", "версия ФФД",
    answer=Struct("in_use" / Int8ul, "highest" / Int8ul),
    kind=AnswerKind.DATA)  # [I] the ФН's 3Ah, through A4 (§9 question 7)

SHIFT = command(
    b"\xa4\x10", "shift", "параметры смены",
    # [?] atol4j decodes these as swapped BCD; the ФН's own 10h answer is u16 LE, which A4
    # passes through (MKA): u16 LE chosen (§4.2, §9 question 3)
    answer=Struct("shift_open" / Int8ul, "shift_number" / Int16ul, "receipt_number" / Int16ul),
    kind=AnswerKind.DATA)

OFD_EXCHANGE = command(
    b"\xa4\x20", "ofd_exchange", "статус обмена с ОФД",
    answer=Struct(
        "status" / Int8ul,
        "reading" / Int8ul,
        "unsent" / Int16ul,
        "first_unsent_fd" / Int32ul,
        "first_unsent_at" / FnDateTime,
    ),
    kind=AnswerKind.DATA)  # [C2]

LAST_REGISTRATION = command(
    b"\xa4\x43", "last_registration", "итоги последней регистрации",
    answer=Struct(
        "registered_at" / FnDateTime,
        "inn" / ascii_field(12),
        "rnm" / ascii_field(20),
        "tax_systems" / Int8ul,
        "work_mode" / Int8ul,
        "fd_number" / Int32ul,
        "fiscal_sign" / Int32ul,
    ),
    kind=AnswerKind.DATA)  # [I] the ФН's 43h through A4 (§4.1, §9 question 7)

FIND_DOCUMENT = command(
    b"\xa4\x40", "find_document", "найти фискальный документ",
    request=Struct("fd_number" / Int32ul),
    answer=Struct(
        "document_type" / Int8ul,
        "ofd_acknowledged" / Int8ul,
        "created_at" / FnDateTime,
        "fd_number" / Int32ul,
        "fiscal_sign" / Int32ul,
        "details" / GreedyBytes,
    ),
    kind=AnswerKind.DATA)  # [I] the ФН's 40h through A4

DOCUMENT_TLV = command(
    b"\xa4\x45", "document_tlv", "запрос документа в TLV",
    request=Struct("fd_number" / Int32ul),
    answer=Struct("document_type" / Int16ul, "length" / Int16ul),
    kind=AnswerKind.DATA)  # request [C], answer [I] (§4.3)

READ_TLV = command(
    b"\xa4\x46", "read_tlv", "чтение TLV документа",
    answer=Struct("data" / GreedyBytes),  # one top-level TLV per answer [C2]
    kind=AnswerKind.DATA)
