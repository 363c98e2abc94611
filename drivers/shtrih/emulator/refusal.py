"""How a Shtrih command handler refuses: raise :class:`Refusal` with the device's error code.

It never leaves :meth:`EmulatedDevice.handle`, which turns it into an error answer (echo +
code); so does a :class:`~kkt_bridge.emulation.refusal.Refused` of the virtual register,
through :data:`REASON_CODES`. Raising before any state changed keeps the rule that a refused
command changes nothing.

The codes are those of :mod:`kkt_bridge.drivers.shtrih.errors` (the one table), named here
where the handlers use them.
"""

from __future__ import annotations

from typing import NoReturn

from kkt_bridge.drivers.shtrih import errors
from kkt_bridge.emulation.refusal import Reason

FN_BAD_STATE = errors.FnWrongStateError.error_code
FN_FAILURE = errors.FnFailureError.error_code
FN_NO_DATA = errors.FnNoDataError.error_code
TLV_TOO_LARGE = errors.TlvTooLargeError.error_code
FN_SHIFT_OVER_24H = errors.FnShiftOver24hError.error_code
BAD_PARAMETERS = errors.BadParametersError.error_code
UNSUPPORTED = errors.NotSupportedError.error_code
PAYMENTS_LESS_THAN_TOTAL = errors.PaymentsLessThanTotalError.error_code
NOT_ENOUGH_CASH = errors.NotEnoughCashError.error_code
TOTAL_OVERFLOW = errors.ReceiptTotalOverflowError.error_code
RECEIPT_OPEN = errors.ReceiptOpenError.error_code
SHIFT_OVER_24H = errors.ShiftOver24hError.error_code
WRONG_PASSWORD = errors.WrongPasswordError.error_code
RECEIPT_CLOSED = errors.ReceiptClosedError.error_code
TABLE_NOT_DEFINED = errors.TableNotDefinedError.error_code
NO_PAPER = errors.NoPaperError.error_code
WRONG_SUBMODE = errors.NotInSubmodeError.error_code
WRONG_MODE = errors.NotInModeError.error_code
ZERO_TOTAL = errors.ZeroTotalError.error_code
NOT_FISCALIZED = errors.NotFiscalizedError.error_code

#: the Shtrih answer to each refusal of the virtual register
REASON_CODES: dict[Reason, int] = {
    Reason.BAD_PARAMETERS: BAD_PARAMETERS,
    Reason.NOT_REGISTERED: NOT_FISCALIZED,
    Reason.FN_BAD_STATE: FN_BAD_STATE,
    Reason.FN_FAILURE: FN_FAILURE,
    Reason.FN_NO_DATA: FN_NO_DATA,
    Reason.FN_SHIFT_OVER_24H: FN_SHIFT_OVER_24H,
    Reason.SHIFT_OVER_24H: SHIFT_OVER_24H,
    Reason.SHIFT_OPEN: WRONG_MODE,
    Reason.SHIFT_CLOSED: WRONG_MODE,
    Reason.RECEIPT_OPEN: RECEIPT_OPEN,
    Reason.RECEIPT_CLOSED: RECEIPT_CLOSED,
    Reason.RECEIPT_OTHER_TYPE: WRONG_MODE,
    Reason.PAYMENTS_LESS_THAN_TOTAL: PAYMENTS_LESS_THAN_TOTAL,
    Reason.NON_CASH_ABOVE_TOTAL: BAD_PARAMETERS,  # the protocol has no code of its own
    Reason.NOT_ENOUGH_CASH: NOT_ENOUGH_CASH,
    Reason.ZERO_TOTAL: ZERO_TOTAL,
    Reason.TOTAL_OVERFLOW: TOTAL_OVERFLOW,
    Reason.NO_PAPER: NO_PAPER,
    Reason.TLV_TOO_LARGE: TLV_TOO_LARGE,
}


class Refusal(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"device error 0x{code:02X}")
        self.code = code


def refuse(code: int) -> NoReturn:
    raise Refusal(code)
