"""Correction receipts: FF35 begin, FF36 make it (document type 31).

A correction goes into the open shift like a receipt: it takes the next receipt number.
"""

from __future__ import annotations

from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands.correction import BEGIN_CORRECTION, CORRECTION_RECEIPT

from .core import MODE_SHIFT_CLOSED, SYSADMIN_ONLY, DeviceCore
from .dispatch import handles
from .refusal import BAD_PARAMETERS, FN_BAD_STATE, WRONG_MODE, refuse

#: 1054 operations a correction may carry
CORRECTED_OPERATIONS = frozenset({1, 3})


def _check(core: DeviceCore, password: int) -> int:
    operator = core.operator(password, SYSADMIN_ONLY)
    core.need_no_receipt()
    core.need_registered()
    core.need_shift_for_sale()
    if core.mode() == MODE_SHIFT_CLOSED:
        refuse(WRONG_MODE)
    return operator


@handles(BEGIN_CORRECTION)
def begin_correction(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    _check(core, request.password)
    core.correction_pending = True
    return cmd.build_answer()


@handles(CORRECTION_RECEIPT)
def correction_receipt(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = _check(core, request.password)
    if not core.correction_pending:
        refuse(FN_BAD_STATE)
    if request.operation not in CORRECTED_OPERATIONS:
        refuse(BAD_PARAMETERS)
    document = core.correction_now(operator, request.operation, request.amount)
    core.correction_pending = False
    number = core.state.shift.receipts
    return cmd.build_answer(receipt_number=number, document_number=document.number,
                            fiscal_sign=document.fiscal_sign)
