"""How the virtual register refuses: :class:`Refused` with a protocol-neutral :class:`Reason`.

A refusal never reaches a client as such: the protocol front end that called the register
catches it and answers with its own protocol's error code for that reason (the Shtrih
front end's table is ``drivers/shtrih/emulator/refusal.py``). Every check runs before the
state changes, so a refused operation changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import NoReturn


class Reason(enum.Enum):
    """Why the register refused, in words every protocol has a code for."""

    BAD_PARAMETERS = "bad_parameters"  # a value the register does not take
    NOT_REGISTERED = "not_registered"  # a fiscal operation before registration
    FN_BAD_STATE = "fn_bad_state"  # the ФН is not in a state for this
    FN_FAILURE = "fn_failure"  # the ФН (here: the state file) could not store the document
    FN_NO_DATA = "fn_no_data"  # no such document in the ФН
    FN_SHIFT_OVER_24H = "fn_shift_over_24h"  # the ФН signs nothing 24 h after the shift opened
    SHIFT_OVER_24H = "shift_over_24h"  # the register's own 24-hour rule
    SHIFT_OPEN = "shift_open"  # the shift must be closed for this
    SHIFT_CLOSED = "shift_closed"  # the shift must be open for this
    RECEIPT_OPEN = "receipt_open"  # a receipt is open
    RECEIPT_CLOSED = "receipt_closed"  # no receipt is open
    RECEIPT_OTHER_TYPE = "receipt_other_type"  # a receipt of another operation is open
    PAYMENTS_LESS_THAN_TOTAL = "payments_less_than_total"
    NON_CASH_ABOVE_TOTAL = "non_cash_above_total"  # change is given from cash only
    NOT_ENOUGH_CASH = "not_enough_cash"
    ZERO_TOTAL = "zero_total"
    TOTAL_OVERFLOW = "total_overflow"  # the sum does not fit the register's money counters
    NO_PAPER = "no_paper"
    TLV_TOO_LARGE = "tlv_too_large"  # the document would not fit the ФН's record


class Refused(Exception):
    """``sums``: the amounts, in kopecks, that tell the person at the keyboard what to put
    right (a protocol's code carries none of them)."""

    def __init__(self, reason: Reason, sums: Mapping[str, int] | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.sums = dict(sums or {})


def refuse(reason: Reason, **sums: int) -> NoReturn:
    raise Refused(reason, sums)


def refused_by_register(error: BaseException) -> Refused | None:
    """The register's refusal behind ``error``: a front end whose keyboard actions run
    through its protocol (Shtrih-M) raises its protocol's error for the code, with the
    :class:`Refused` as its cause, so the reason is not lost to the person who acted."""
    if isinstance(error, Refused):
        return error
    cause = error.__cause__
    return cause if isinstance(cause, Refused) else None
