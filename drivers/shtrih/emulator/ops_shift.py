"""Shift and cash drawer: 0xE0 open shift, 0x40 X report, 0x41 Z report (closes the shift),
0x88 cancel receipt, 0x50 / 0x51 cash in / out."""

from __future__ import annotations

from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands.cash import CASH_IN, CASH_OUT
from kkt_bridge.drivers.shtrih.commands.shift import CANCEL_RECEIPT, OPEN_SHIFT, X_REPORT, Z_REPORT
from kkt_bridge.emulation.refusal import Reason, refuse

from .core import (
    ADMIN_ROWS,
    MODE_SHIFT_CLOSED,
    X_REPORT_ROWS,
    DeviceCore,
)
from .dispatch import handles


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
        refuse(Reason.SHIFT_CLOSED)  # WRONG_MODE on the line, its reason at the keyboard
    core.need_paper()
    core.close_shift_now(operator)
    return cmd.build_answer(operator=operator)


@handles(CANCEL_RECEIPT)
def cancel_receipt(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    core.cancel_receipt_now()
    return cmd.build_answer(operator=operator)


@handles(CASH_IN, CASH_OUT)
def cash_in_out(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    number = core.cash_now(operator, int(request.amount), into_drawer=cmd is CASH_IN)
    return cmd.build_answer(operator=operator, document_number=number)
