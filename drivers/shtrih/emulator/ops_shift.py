"""Shift and cash drawer: 0xE0 open shift, 0x40 X report, 0x41 Z report (closes the shift),
0x88 cancel receipt, 0x50 / 0x51 cash in / out."""

from __future__ import annotations

from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands.cash import CASH_IN, CASH_OUT
from kkt_bridge.drivers.shtrih.commands.shift import CANCEL_RECEIPT, OPEN_SHIFT, X_REPORT, Z_REPORT

from . import documents
from .archive import DOC_SHIFT_CLOSE, StoredDocument
from .core import (
    ADMIN_ROWS,
    MODE_SHIFT_CLOSED,
    MODE_SHIFT_EXPIRED,
    X_REPORT_ROWS,
    DeviceCore,
)
from .dispatch import handles
from .refusal import (
    BAD_PARAMETERS,
    NOT_ENOUGH_CASH,
    RECEIPT_CLOSED,
    SHIFT_OVER_24H,
    WRONG_MODE,
    refuse,
)


@handles(OPEN_SHIFT)
def open_shift(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    core.need_no_receipt()
    core.need_registered()
    core.need_shift_closed()
    core.need_paper()
    core.open_shift_now(operator)
    return cmd.build_answer(operator=operator)


@handles(X_REPORT)
def x_report(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password, X_REPORT_ROWS)
    core.need_no_receipt()
    core.need_paper()
    core.next_through_number()
    core.persist()
    return cmd.build_answer(operator=operator)


@handles(Z_REPORT)
def z_report(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password, ADMIN_ROWS)
    core.need_no_receipt()
    core.need_registered()
    if core.mode() == MODE_SHIFT_CLOSED:
        refuse(WRONG_MODE)
    core.need_paper()
    close_shift_now(core, operator)
    return cmd.build_answer(operator=operator)


def close_shift_now(core: DeviceCore, operator: int) -> StoredDocument:
    state = core.state
    shift = state.shift
    now = core.document_time()
    unsent = state.archive.unacknowledged()
    # the close report itself is one more document of the shift, and not yet sent either
    tags = documents.shift_close(
        core.requisites(operator), now, shift.number, shift.documents + 1, shift.receipts,
        len(unsent) + 1, unsent[0].created_at if unsent else now)

    def closed(_document: StoredDocument) -> None:
        shift.is_open = False
        shift.opened_at = None

    return core.issue(DOC_SHIFT_CLOSE, tags, {"shift_number": shift.number}, closed)


@handles(CANCEL_RECEIPT)
def cancel_receipt(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    if core.receipt is None:
        refuse(RECEIPT_CLOSED)
    core.need_paper()
    core.receipt = None
    core.next_through_number()
    return cmd.build_answer(operator=operator)


@handles(CASH_IN, CASH_OUT)
def cash_in_out(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    core.need_no_receipt()
    core.need_registered()
    if core.mode() == MODE_SHIFT_EXPIRED:
        refuse(SHIFT_OVER_24H)
    amount = int(request.amount)
    if amount <= 0:
        refuse(BAD_PARAMETERS)
    state = core.state
    if cmd is CASH_OUT and amount > state.cash_in_drawer:
        refuse(NOT_ENOUGH_CASH)
    core.need_paper()
    if core.mode() == MODE_SHIFT_CLOSED:
        core.open_shift_now(operator)  # ФН-era firmware opens the shift itself
    state.cash_in_drawer += amount if cmd is CASH_IN else -amount
    number = core.next_through_number()
    core.persist()
    return cmd.build_answer(operator=operator, document_number=number)
