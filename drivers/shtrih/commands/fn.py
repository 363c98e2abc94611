"""Fiscal storage (ФН) commands: 0xFF01..0xFF40 (every request starts with the sysadmin password).

The ФН's own answers use ASCII strings (space-padded INN and RNM), DATE = YY MM DD and
DATE_TIME = YY MM DD hh mm. Two answers have variable tails, declared so that real traces
parse and build back to the same bytes: FF09 (three layouts, told apart by length) and FF0A
(details depend on the document type).
"""

from __future__ import annotations

from construct import (
    GreedyBytes,
    Int8ul,
    Int16ul,
    Int32ul,
    Select,
    Struct,
    Switch,
    Terminated,
    this,
)

from .base import command
from .fields import FnDate, FnDateTime, Money, Password, ascii_field

_PASSWORD = Struct("password" / Password)
_BY_NUMBER = Struct("password" / Password, "fd_number" / Int32ul)

FN_STATUS = command(
    0xFF01, "fn_status", "Запрос статуса ФН",
    request=_PASSWORD,
    answer=Struct(
        "lifecycle" / Int8ul,  # bit0 set up, bit1 fiscal mode, bit2 closed, bit3 OFD done
        "current_document" / Int8ul,
        "document_data" / Int8ul,  # 0/1
        "shift_open" / Int8ul,  # 0/1
        "warnings" / Int8ul,
        "last_document_at" / FnDateTime,
        "fn_number" / ascii_field(16),
        "last_fd_number" / Int32ul,
    ),
    query=True,
)

FN_NUMBER = command(
    0xFF02, "fn_number", "Запрос номера ФН",
    request=_PASSWORD,
    answer=Struct("fn_number" / ascii_field(16)),
    query=True,
)

FN_VALIDITY = command(
    0xFF03, "fn_validity", "Запрос срока действия ФН",
    request=_PASSWORD,
    answer=Struct(
        "valid_until" / FnDate,
        "registrations_left" / Int8ul,
        "registrations_done" / Int8ul,
    ),
    query=True,
)

FN_VERSION = command(
    0xFF04, "fn_version", "Запрос версии ФН",
    request=_PASSWORD,
    answer=Struct(
        "version" / ascii_field(16),
        "type" / Int8ul,  # 0 debug, 1 serial
    ),
    query=True,
)

_DOCUMENT_SIGN = Struct("fd_number" / Int32ul, "fiscal_sign" / Int32ul, Terminated)

LAST_REGISTRATION = command(
    0xFF09, "last_registration", "Запрос итогов последней фискализации (перерегистрации)",
    request=_PASSWORD,
    answer=Struct(
        "registered_at" / FnDateTime,
        "inn" / ascii_field(12),
        "rnm" / ascii_field(20),
        "tax_systems" / Int8ul,
        "work_mode" / Int8ul,
        # The layouts seen in the field, told apart by what is left (FFD 1.1+ first):
        # 22 bytes: extended flags, OFD INN, reason, ФД, sign; 9: reason, ФД, sign; 8: ФД, sign.
        "tail" / Select(
            Struct(
                "extended_flags" / Int8ul,
                "ofd_inn" / ascii_field(12),
                "reason" / Int8ul,
                *_DOCUMENT_SIGN.subcons,
            ),
            Struct("reason" / Int8ul, *_DOCUMENT_SIGN.subcons),
            _DOCUMENT_SIGN,
            Struct("raw" / GreedyBytes),  # an unknown layout: ФД and sign are its last 8 bytes
        ),
    ),
    query=True,
)

#: FF0A detail layouts by FFD document type (STLV tag)
_RECEIPT_DETAILS = Struct("operation" / Int8ul, "total" / Money)
_SHIFT_DETAILS = Struct("shift_number" / Int16ul)
_REGISTRATION_DETAILS = Struct(
    "inn" / ascii_field(12), "rnm" / ascii_field(20),
    "tax_systems" / Int8ul, "work_mode" / Int8ul,
)

FIND_DOCUMENT = command(
    0xFF0A, "find_document", "Найти фискальный документ по номеру",
    request=_BY_NUMBER,
    answer=Struct(
        "document_type" / Int8ul,
        "ofd_acknowledged" / Int8ul,
        "created_at" / FnDateTime,
        "fd_number" / Int32ul,
        "fiscal_sign" / Int32ul,
        "details" / Switch(this.document_type, {
            1: _REGISTRATION_DETAILS,
            11: Struct(*_REGISTRATION_DETAILS.subcons, "reason" / Int8ul),
            2: _SHIFT_DETAILS,
            5: _SHIFT_DETAILS,
            3: _RECEIPT_DETAILS,
            31: _RECEIPT_DETAILS,
            4: _RECEIPT_DETAILS,
            41: _RECEIPT_DETAILS,
            6: Struct("inn" / ascii_field(12), "rnm" / ascii_field(20)),
            21: Struct("unconfirmed" / Int32ul, "first_unconfirmed" / FnDate),
        }, default=Struct("raw" / GreedyBytes)),
    ),
    query=True,
)

OFD_EXCHANGE = command(
    0xFF39, "ofd_exchange", "Получить статус информационного обмена",
    request=_PASSWORD,
    answer=Struct(
        "status" / Int8ul,
        "read_state" / Int8ul,
        "queue_length" / Int16ul,
        "first_unsent_fd" / Int32ul,
        "first_unsent_at" / FnDateTime,
    ),
    query=True,
)

DOCUMENT_TLV = command(
    0xFF3A, "document_tlv", "Запросить фискальный документ в TLV-формате",
    request=_BY_NUMBER,
    answer=Struct(
        "document_type" / Int16ul,  # STLV tag: 1, 11, 2, 21, 3, 31, 4, 41, 5, 6
        "length" / Int16ul,
    ),
    query=True,
)

READ_TLV_BLOCK = command(
    0xFF3B, "read_tlv_block", "Чтение TLV фискального документа",
    request=_PASSWORD,
    answer=Struct("data" / GreedyBytes),  # error 08 after the last block
    query=True,
)

_TLV_BLOCK_OK = READ_TLV_BLOCK.code_bytes + b"\x00"


def tlv_block_data(body: bytes) -> bytes:
    """``READ_TLV_BLOCK.parse_answer(body).data`` (or what it raises), without construct for
    a good block: the driver reads about 25 of them a document. The declaration stays the
    truth: tests/drivers/shtrih/test_shtrih_tlv_block_fastpath.py holds both equal."""
    if len(body) > 3 and body.startswith(_TLV_BLOCK_OK):
        return body[3:]
    return bytes(READ_TLV_BLOCK.parse_answer(body).data)


def tlv_block_size(body: bytes) -> int:
    """``len(tlv_block_data(body))`` for a block the fast path takes (answered without an
    error, at least a byte), 0 for any other answer; never raises."""
    return len(body) - 3 if len(body) > 3 and body.startswith(_TLV_BLOCK_OK) else 0


UNCONFIRMED_COUNT = command(
    0xFF3F, "unconfirmed_count", "Запрос количества ФД, на которые нет квитанции",
    request=_PASSWORD,
    answer=Struct("count" / Int16ul),
    query=True,
)

SHIFT_PARAMETERS = command(
    0xFF40, "shift_parameters", "Запрос параметров текущей смены",
    request=_PASSWORD,
    answer=Struct(
        "shift_open" / Int8ul,
        "shift_number" / Int16ul,
        "receipt_number" / Int16ul,
    ),
    query=True,
)
