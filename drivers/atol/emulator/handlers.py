"""ATOL tasks over the virtual register: parsed with the driver's declarations, answered
with the same declarations (the driver's mirror). One function per command, looked up by
the declaration's name; a refusal of the register becomes the ATOL error code of its
reason (:data:`REFUSALS`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from construct import Container

from kkt_bridge.emulation.documents import Payments
from kkt_bridge.emulation.refusal import Reason, Refused, refuse
from kkt_bridge.emulation.sale import Line, round_kopecks
from kkt_bridge.errors import ProtocolError
from kkt_bridge.fiscal import tlv
from kkt_bridge.fiscal.facts import (
    OPERATION_PURCHASE,
    OPERATION_PURCHASE_RETURN,
    OPERATION_SALE,
    OPERATION_SALE_RETURN,
    VAT_0,
    VAT_10,
    VAT_10_110,
    VAT_20,
    VAT_20_120,
    VAT_NONE,
)

from ..commands import Command, lookup
from ..commands import receipt as receipt_cmds
from ..commands import status as status_cmds
from ..errors import (
    FnNoDataError,
    FnWrongStateError,
    ModeNotAvailableError,
    NotFiscalizedError,
    ReceiptClosedError,
    ReceiptOpenError,
    ShiftExpiredError,
    ShiftOpenError,
    WrongPasswordError,
)
from .register import AtolRegister, may_enter

#: the register's refusal reasons as ATOL error codes (atol.md §7; the driver's error table
#: names the ones it acts on, so both sides use the same numbers)
REFUSALS: dict[Reason, int] = {
    Reason.BAD_PARAMETERS: 0x13,
    Reason.NOT_REGISTERED: NotFiscalizedError.error_code,
    Reason.FN_BAD_STATE: FnWrongStateError.error_code,
    Reason.FN_FAILURE: 0xD5,
    Reason.FN_NO_DATA: FnNoDataError.error_code,
    Reason.FN_SHIFT_OVER_24H: 0xF0,
    Reason.SHIFT_OVER_24H: ShiftExpiredError.error_code,
    Reason.SHIFT_OPEN: ShiftOpenError.error_code,
    Reason.SHIFT_CLOSED: ModeNotAvailableError.error_code,
    Reason.RECEIPT_OPEN: ReceiptOpenError.error_code,
    Reason.RECEIPT_CLOSED: ReceiptClosedError.error_code,
    Reason.RECEIPT_OTHER_TYPE: 0x6A,
    Reason.PAYMENTS_LESS_THAN_TOTAL: 0x86,
    Reason.NON_CASH_ABOVE_TOTAL: 0x13,  # as any bad parameter: no code of its own
    Reason.NOT_ENOUGH_CASH: 0x98,
    Reason.ZERO_TOTAL: 0x08,
    Reason.TOTAL_OVERFLOW: 0x81,
    Reason.NO_PAPER: 0x67,
    Reason.TLV_TOO_LARGE: 0xE8,
}
WRONG_MODE = ModeNotAvailableError.error_code
WRONG_PASSWORD = WrongPasswordError.error_code
UNKNOWN_COMMAND = 0xF2
WRONG_PAYMENT_TYPE = 0x7E
MALFORMED = 0x14  # wrong length

#: receipt types of 92 / the 3F receipt state, to FFD operations (1054)
OPERATIONS = {1: OPERATION_SALE, 2: OPERATION_SALE_RETURN, 4: OPERATION_PURCHASE,
              5: OPERATION_PURCHASE_RETURN}
RECEIPT_STATES = {operation: state for state, operation in OPERATIONS.items()}
#: E6 tax numbers (see receipt_cmds.TAX_NUMBERS, [?]) to the FFD's 1199 rates
VAT_BY_TAX = {0: VAT_NONE, 1: VAT_20, 2: VAT_10, 3: VAT_20_120, 4: VAT_10_110, 5: VAT_0,
              6: VAT_NONE, 7: VAT_20, 8: VAT_20_120}
#: 4A/99 payment types beside cash
PAYMENT_CASH = receipt_cmds.PAYMENT_CASH

#: the mode each command of a cashier's day needs; state and ФН requests work in any mode
NEEDS_MODE = {b"\x9a": 1, b"\x92": 1, b"\xe6": 1, b"\x4a": 1, b"\x99": 1, b"\x59": 1,
              b"\x49": 1, b"\x4f": 1, b"\x67": 2, b"\x5a": 3}

Answer = tuple[bool, bytes]
Handler = Callable[[AtolRegister, Command, Container, str], bytes]
HANDLERS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = function
        return function
    return register


def handle(register: AtolRegister, task: bytes, line_kind: str = "pty") -> Answer:
    """Run one task; (True, answer) or (False, the error answer)."""
    command = lookup(task)
    if command is None:
        return False, bytes([0x55, UNKNOWN_COMMAND, 0])
    try:
        fields = command.parse_task(task)
    except ProtocolError:
        return False, command.error_answer(MALFORMED)
    with register.lock:
        mode = NEEDS_MODE.get(command.code)
        if mode is not None and register.ram.mode != mode:
            return False, command.error_answer(WRONG_MODE)
        function = HANDLERS.get(command.name)
        if function is None:
            return False, command.error_answer(UNKNOWN_COMMAND)
        try:
            return True, function(register, command, fields, line_kind)
        except Refused as refused:
            return False, command.error_answer(REFUSALS[refused.reason])
        except _Error as error:
            return False, command.error_answer(error.code)


class _Error(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


# --- identity and state -------------------------------------------------------------------

#: 3F byte 29, the port the host is on: 1 RS-232, 6 Ethernet
PORTS = {"pty": 1, "tcp": 6}


@handles("device_type")
def _device_type(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    return cmd.build_answer(protocol=3, device_type=1, model=reg.model.code, mode=0,
                            version=_version(reg), name=reg.model.name)


def _version(reg: AtolRegister) -> bytes:
    parts = [int(p) for p in reg.model.firmware.split(".")]
    return bytes(parts[:2]) + bytes([0]) + parts[2].to_bytes(2, "big")


@handles("state")
def _state(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    state = reg.state
    now = reg.now()
    flags = status_cmds.FLAG_PAPER if not reg.faults.paper_out else 0
    if state.registered:
        flags |= status_cmds.FLAG_FISCAL | status_cmds.FLAG_FN_ACTIVE
    if state.shift.is_open:
        flags |= status_cmds.FLAG_SHIFT_OPEN
    receipt = reg.receipt
    return cmd.build_answer(
        cashier=reg.ram.operator, hall_number=1, date=now.date(), time=now.time(),
        flags=flags, serial=_serial_digits(state.identity.serial), model=reg.model.code,
        firmware=_version(reg)[:2], mode=reg.ram.mode | (reg.ram.submode << 4),
        receipt_number=(state.shift.receipts + (1 if receipt else 0)) % 10000,
        shift_number=state.shift.number % 10000,
        receipt_state=RECEIPT_STATES.get(receipt.operation, 1) if receipt else 0,
        receipt_total=receipt.total if receipt else 0, decimal_point=2,
        port=PORTS.get(kind, 1))


def _serial_digits(serial: str) -> int:
    """3F carries the serial as 4 BCD bytes: its last eight digits [C]."""
    digits = "".join(ch for ch in serial if ch.isdigit())
    return int(digits[-8:] or "0")


@handles("short_state")
def _short_state(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    return cmd.build_answer(mode=reg.ram.mode | (reg.ram.submode << 4),
                            flags=1 if reg.faults.paper_out else 0)


@handles("enter_mode")
def _enter_mode(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    if reg.ram.mode != 0:
        raise _Error(WRONG_MODE)  # leave the current mode first (48)
    if not 1 <= f.mode <= 6:
        raise _Error(0x13)
    operator = may_enter(f.mode, f.mode_password)
    if operator is None:
        raise _Error(WRONG_PASSWORD)
    reg.ram.mode, reg.ram.submode, reg.ram.operator = f.mode, 0, operator
    return cmd.build_answer()


@handles("leave_mode")
def _leave_mode(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    reg.need_no_receipt()
    reg.ram.mode = reg.ram.submode = 0
    return cmd.build_answer()


@handles("beep")
def _beep(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    return cmd.build_answer()


@handles("read_register")
def _read_register(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    raise _Error(0x6C)  # the layouts of register values are unknown (atol.md §9 question 4)


@handles("cash_in_drawer")
def _cash_in_drawer(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    return cmd.build_answer(amount=max(0, reg.state.cash_in_drawer))


# --- the ФН -------------------------------------------------------------------------------


@handles("fn_status")
def _fn_status(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    state = reg.state
    last = state.archive.last
    return cmd.build_answer(
        lifecycle=state.lifecycle, current_document=0x31 if reg.receipt else 0,
        document_data=1 if reg.receipt else 0, shift_open=int(state.shift.is_open),
        warnings=0, last_document_at=last.created_at if last else None,
        fn_number=state.identity.fn_number or "", last_fd_number=state.archive.last_number,
        rest=b"")


@handles("fn_number")
def _fn_number(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    return cmd.build_answer(fn_number=reg.state.identity.fn_number or "")


@handles("fn_validity")
def _fn_validity(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    state = reg.state
    done = len(state.registrations)
    valid: date | None = state.fn.valid_until if state.registered else None
    return cmd.build_answer(valid_until=valid,
                            registrations_left=max(0, state.fn.registrations_max - done),
                            registrations_done=done)


@handles("fn_version")
def _fn_version(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    return cmd.build_answer(version=reg.state.fn.version[:16], serial_build=0)


@handles("ffd_version")
def _ffd_version(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    return cmd.build_answer(in_use=reg.ffd_code, highest=4)


@handles("shift")
def _shift(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    shift = reg.state.shift
    return cmd.build_answer(shift_open=int(shift.is_open), shift_number=shift.number,
                            receipt_number=shift.receipts + (1 if reg.receipt else 0))


@handles("ofd_exchange")
def _ofd_exchange(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    unsent = reg.state.archive.unacknowledged()
    first = unsent[0] if unsent else None
    return cmd.build_answer(status=1 if unsent else 0, reading=0, unsent=len(unsent),
                            first_unsent_fd=first.number if first else 0,
                            first_unsent_at=first.created_at if first else None)


@handles("last_registration")
def _last_registration(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    if not reg.state.registrations:
        refuse(Reason.FN_BAD_STATE)
    last = reg.state.registrations[-1]
    return cmd.build_answer(registered_at=last.at, inn=last.inn.ljust(12), rnm=last.rnm.ljust(20),
                            tax_systems=last.tax_systems, work_mode=last.work_mode,
                            fd_number=last.fd_number, fiscal_sign=last.fiscal_sign)


@handles("find_document")
def _find_document(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    document = reg.state.archive.get(f.fd_number)
    if document is None:
        refuse(Reason.FN_NO_DATA)
    return cmd.build_answer(document_type=document.doc_type,
                            ofd_acknowledged=int(document.ofd_acknowledged),
                            created_at=document.created_at, fd_number=document.number,
                            fiscal_sign=document.fiscal_sign, details=b"")


@handles("document_tlv")
def _document_tlv(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    document = reg.state.archive.get(f.fd_number)
    if document is None:
        refuse(Reason.FN_NO_DATA)
    reg.ram.read_cursor = (document, 0)
    return cmd.build_answer(document_type=document.doc_type, length=len(document.body))


@handles("read_tlv")
def _read_tlv(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    cursor = reg.ram.read_cursor
    if cursor is None:
        refuse(Reason.FN_NO_DATA)
    document, offset = cursor
    body = document.body
    span = tlv.span_at(body, offset)
    if span is None:
        reg.ram.read_cursor = None
        refuse(Reason.FN_NO_DATA)  # 0xDA: the end of the document
    reg.ram.read_cursor = (document, span.end)
    return cmd.build_answer(data=body[offset:span.end])


# --- a cashier's day ----------------------------------------------------------------------


@handles("open_shift")
def _open_shift(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    reg.need_no_receipt()
    reg.need_registered()
    if reg.state.shift.is_open:
        refuse(Reason.SHIFT_OPEN)
    reg.need_paper()
    if not f.test:
        reg.open_shift_now(reg.ram.operator)
    return cmd.build_answer()


@handles("open_receipt")
def _open_receipt(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    reg.need_no_receipt()
    operation = OPERATIONS.get(f.receipt_type)
    if operation is None:
        raise _Error(0x6A)
    if not f.flags & 1:
        reg.start_receipt_now(operation, reg.ram.operator)
        reg.ram.payments = {}
    return cmd.build_answer()


@handles("item")
def _item(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    vat = VAT_BY_TAX.get(f.tax)
    if vat is None or f.quantity <= 0:
        refuse(Reason.BAD_PARAMETERS)
    quantity = Decimal(f.quantity) / 1000
    amount = round_kopecks(quantity * f.price)
    amount += f.discount if f.discount_sign else -f.discount
    if amount < 0:
        raise _Error(0x7B)
    operation = reg.receipt.operation if reg.receipt is not None else OPERATION_SALE
    line = Line(name=f.name, quantity=quantity.quantize(Decimal("0.000001")), price=f.price,
                amount=amount, vat_rate=vat, department=f.section)
    if not f.flags & 1:
        if reg.receipt is None:
            reg.ram.payments = {}
        reg.add_line_now(operation, reg.ram.operator, line)
    return cmd.build_answer()


@handles("payment")
def _payment(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    reg.open_receipt()
    if not 1 <= f.payment_type <= 5:
        raise _Error(WRONG_PAYMENT_TYPE)
    reg.need_money(f.amount)
    if not f.test:
        reg.ram.payments[f.payment_type] = reg.ram.payments.get(f.payment_type, 0) + f.amount
    return cmd.build_answer()


@handles("close_receipt")
def _close_receipt(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    reg.open_receipt()
    if not 1 <= f.payment_type <= 5:
        raise _Error(WRONG_PAYMENT_TYPE)
    paid = dict(reg.ram.payments)
    paid[f.payment_type] = paid.get(f.payment_type, 0) + f.amount
    others = Payments(electronic=paid.get(2, 0) + paid.get(5, 0), prepaid=paid.get(3, 0),
                      credit=paid.get(4, 0))
    if f.test:
        return cmd.build_answer()
    reg.close_receipt_now(paid.get(PAYMENT_CASH, 0), others, 0, 0)
    reg.ram.payments = {}
    return cmd.build_answer()


@handles("cancel_receipt")
def _cancel_receipt(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    reg.cancel_receipt_now()
    reg.ram.payments = {}
    return cmd.build_answer()


@handles("cash_in", "cash_out")
def _cash(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    if not f.test:
        reg.cash_now(reg.ram.operator, f.amount, into_drawer=cmd.name == "cash_in")
    return cmd.build_answer()


@handles("x_report")
def _x_report(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    reg.need_no_receipt()
    reg.need_paper()
    reg.next_through_number()  # printed, not a fiscal document
    return cmd.build_answer()


@handles("z_report")
def _z_report(reg: AtolRegister, cmd: Command, f: Container, kind: str) -> bytes:
    reg.need_no_receipt()
    reg.need_registered()
    if not reg.state.shift.is_open:
        refuse(Reason.SHIFT_CLOSED)
    reg.need_paper()
    reg.close_shift_now(reg.ram.operator)
    return cmd.build_answer()


