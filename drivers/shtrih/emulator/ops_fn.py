"""ФН queries: FF01 status, FF02 number, FF03 validity, FF04 version, FF09 last registration,
FF0A find document, FF39 OFD exchange, FF3A/FF3B document as TLV, FF3F, FF40 shift.

All of them want the system administrator's password, as pyshtrih and the vendor's driver
send it. FF01, FF39, FF40 and 0x11 are computed from the same counters, so they agree.
"""

from __future__ import annotations

from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands.fn import (
    DOCUMENT_TLV,
    FIND_DOCUMENT,
    FN_NUMBER,
    FN_STATUS,
    FN_VALIDITY,
    FN_VERSION,
    LAST_REGISTRATION,
    OFD_EXCHANGE,
    READ_TLV_BLOCK,
    SHIFT_PARAMETERS,
    UNCONFIRMED_COUNT,
)
from kkt_bridge.drivers.shtrih.frame import MAX_BODY
from kkt_bridge.emulation.archive import StoredDocument
from kkt_bridge.fiscal import tlv

from .core import SYSADMIN_ONLY, DeviceCore
from .dispatch import handles
from .refusal import FN_BAD_STATE, FN_NO_DATA, refuse

#: FF01 "current document" codes
CURRENT_NONE = 0x00
CURRENT_REGISTRATION = 0x01
CURRENT_RECEIPT = 0x04
CURRENT_REREGISTRATION = 0x13
#: FF39 status bit: a message is waiting to go to the OFD
EXCHANGE_HAS_MESSAGE = 0x02
#: one FF3B answer: a whole frame body minus FF 3B and the error byte
MAX_BLOCK = MAX_BODY - 3


def _archived(core: DeviceCore, fd_number: int) -> StoredDocument:
    """A document of the ФН archive; FN_NO_DATA when the ФН has no such number."""
    document = core.state.archive.get(fd_number)
    if document is None:
        refuse(FN_NO_DATA)
    return document


def _current_document(core: DeviceCore) -> int:
    if core.receipt is not None:
        return CURRENT_RECEIPT
    if core.pending_report is not None:
        return CURRENT_REGISTRATION if core.pending_report == 0 else CURRENT_REREGISTRATION
    return CURRENT_NONE


@handles(FN_STATUS)
def fn_status(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    state = core.state
    last = state.archive.last
    return cmd.build_answer(
        lifecycle=state.lifecycle, current_document=_current_document(core),
        document_data=1 if core.receipt is not None and core.receipt.lines else 0,
        shift_open=1 if state.shift.is_open else 0, warnings=0,
        last_document_at=last.created_at if last else None,
        fn_number=state.identity.fn_number, last_fd_number=state.archive.last_number,
    )


@handles(FN_NUMBER)
def fn_number(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    return cmd.build_answer(fn_number=core.state.identity.fn_number)


@handles(FN_VALIDITY)
def fn_validity(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    fn = core.state.fn
    done = len(core.state.registrations)
    return cmd.build_answer(valid_until=fn.valid_until,
                            registrations_left=max(fn.registrations_max - done, 0),
                            registrations_done=done)


@handles(FN_VERSION)
def fn_version(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    return cmd.build_answer(version=core.state.fn.version, type=0)


@handles(LAST_REGISTRATION)
def last_registration(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    if not core.state.registrations:
        refuse(FN_BAD_STATE)
    reg = core.state.registrations[-1]
    tail: dict[str, Any] = {"fd_number": reg.fd_number, "fiscal_sign": reg.fiscal_sign}
    if core.ffd_code >= 4:
        # FFD 1.1+ firmware: extended flags, OFD INN and the reason come before ФД and sign
        tail = {"extended_flags": 0, "ofd_inn": reg.ofd_inn.ljust(12),
                "reason": reg.reason or 0, **tail}
    return cmd.build_answer(registered_at=reg.at, inn=reg.inn.ljust(12),
                            rnm=reg.rnm.ljust(20), tax_systems=reg.tax_systems,
                            work_mode=reg.work_mode, tail=tail)


@handles(FIND_DOCUMENT)
def find_document(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    document = _archived(core, request.fd_number)
    return cmd.build_answer(
        document_type=document.doc_type, ofd_acknowledged=int(document.ofd_acknowledged),
        created_at=document.created_at, fd_number=document.number,
        fiscal_sign=document.fiscal_sign, details=document.details,
    )


@handles(OFD_EXCHANGE)
def ofd_exchange(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    unsent = core.state.archive.unacknowledged()
    first = unsent[0] if unsent else None
    return cmd.build_answer(
        status=EXCHANGE_HAS_MESSAGE if unsent else 0, read_state=0,
        queue_length=min(len(unsent), 0xFFFF),
        first_unsent_fd=first.number if first else 0,
        first_unsent_at=first.created_at if first else None,
    )


@handles(UNCONFIRMED_COUNT)
def unconfirmed_count(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    return cmd.build_answer(count=min(len(core.state.archive.unacknowledged()), 0xFFFF))


@handles(SHIFT_PARAMETERS)
def shift_parameters(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    shift = core.state.shift
    return cmd.build_answer(shift_open=1 if shift.is_open else 0, shift_number=shift.number,
                            receipt_number=shift.receipts)


@handles(DOCUMENT_TLV)
def document_tlv(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    document = _archived(core, request.fd_number)
    core.read_cursor = (document, 0, 0)
    return cmd.build_answer(document_type=document.doc_type, length=len(document.body))


@handles(READ_TLV_BLOCK)
def read_tlv_block(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    if core.read_cursor is None:
        refuse(FN_NO_DATA)
    document, offset, tlv_end = core.read_cursor
    body = document.body
    if offset >= len(body):
        core.read_cursor = None
        refuse(FN_NO_DATA)
    # one top-level TLV per answer; one too long for a frame goes in frame-sized pieces
    if offset >= tlv_end:
        span = tlv.span_at(body, offset)
        tlv_end = span.end if span is not None else len(body)  # a stored document is whole
    end = min(tlv_end, offset + MAX_BLOCK)
    core.read_cursor = (document, end, tlv_end)
    return cmd.build_answer(data=body[offset:end])
