"""The virtual register and its ФН, knowing no protocol byte.

:class:`VirtualRegister` keeps the state a real register keeps (:mod:`.state`: the ФН
archive, registrations, the shift, counters, the cash drawer, the clock offset) and does
what every register does with it: registration and re-registration, a new ФН, shifts,
receipts with their VAT and payments, corrections, cash in and out, the OFD queue. A
protocol front end (the Shtrih one is ``drivers/shtrih/emulator``) parses its requests and
calls these methods; each either does all it stands for or raises
:class:`~.refusal.Refused` having changed nothing, and the front end answers with its own
error code for the reason.

The methods ending in ``_now`` are the register's inside (the front end has checked its own
protocol's rules first: passwords, modes, a report begun). The plain ones at the end
(:meth:`register`, :meth:`open_shift`, :meth:`sell`, :meth:`close_shift`,
:meth:`replace_fn`) are what a cashier or a service engineer does at the register; a front
end may override them to go through its protocol, as the Shtrih one does.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from kkt_bridge.errors import ConfigError, DocumentError
from kkt_bridge.fiscal.facts import (
    CASH_INTO_DRAWER,
    DOC_CORRECTION,
    DOC_RECEIPT,
    DOC_REGISTRATION,
    DOC_REREGISTRATION,
    DOC_SHIFT_CLOSE,
    DOC_SHIFT_OPEN,
    OPERATIONS,
    PAYMENT_FULL,
    SUBJECT_GOODS,
    VAT_NONE,
    VAT_RATES,
)
from kkt_bridge.fiscal.wire import TagValue
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Identity

from . import documents
from .archive import Archive, StoredDocument
from .clock import RegisterClock, SystemClock
from .faults import DeviceFaults
from .profile import DEMO_PROFILE, Profile, inn_is_valid, rnm_is_valid
from .refusal import Reason, refuse
from .sale import Line, OpenReceipt, round_kopecks
from .state import LIFECYCLE_FISCAL, LIFECYCLE_READY, FnRegistration, RegisterState
from .statefile import StateFile

__all__ = ["Item", "RegisterModel", "SaleResult", "VirtualRegister"]

log = logging.getLogger(__name__)

SHIFT_LENGTH = timedelta(hours=24)
MAX_REASON = 4


@dataclass(frozen=True)
class RegisterModel:
    """What a front end's register is (its answers name it); the ФН is the kit's."""

    protocol: str  # the driver's name: "shtrih"
    name: str  # "ШТРИХ-М-01Ф"
    code: int  # the protocol's model code
    firmware: str
    #: the largest sum the protocol's money fields carry (kopecks); a receipt whose total
    #: or payments would not fit is refused, as a real register refuses it
    money_limit: int


@dataclass(frozen=True)
class Item:
    """One line of a sale made at the register. ``vat`` is a 1199 rate (6 = without VAT)."""

    name: str
    price: int  # kopecks per unit
    quantity: Decimal | int | str = 1
    vat: int = VAT_NONE
    payment_method: int = PAYMENT_FULL
    payment_subject: int = SUBJECT_GOODS
    department: int = 0

    @property
    def amount(self) -> int:
        """The line's cost as the register makes it: price × quantity, rounded half up."""
        return round_kopecks(Decimal(str(self.quantity)) * self.price)


@dataclass(frozen=True)
class KeyboardCashier:
    """The cashier who signed in at the register's keyboard: tags 1021 and 1203 of the
    documents made there, whatever the front end's own cashier would be."""

    name: str
    inn: str = ""


@dataclass(frozen=True)
class SaleResult:
    fd_number: int
    fiscal_sign: int
    receipt_number: int
    shift_number: int
    total: int
    change: int
    document: bytes  # the document as the ФН stores it


def fresh_numbers(seed: int | None) -> tuple[str, str]:
    """A serial number and a ФН number for a new register: random, or from ``seed``.

    The serial is what every protocol carries whole: eight digits, the first not a zero.
    ATOL's 3F carries it as 8 BCD digits and Shtrih's 0x11 as a u32, and both drivers read
    a number; a serial with leading zeros (a 16-digit one, say) would reach the bridge's
    pages without them while its documents (tag 1013) kept them, and the emulator's page
    and the register page of the demo would show the same register under two numbers."""
    rng = random.Random(f"kkt-numbers:{seed}") if seed is not None else None

    def digits(count: int) -> str:
        if rng is not None:
            return "".join(str(rng.randrange(10)) for _ in range(count))
        return "".join(secrets.choice("0123456789") for _ in range(count))

    serial = digits(8)
    # the same draws as ever, so a seed keeps its ФН number; only a leading zero is replaced
    serial = serial if serial[0] != "0" else "1" + serial[1:]
    return serial, "99990789" + digits(8)


class VirtualRegister:
    """A register with its ФН. Thread-safe: every public method holds :attr:`lock`."""

    #: the front end's model; a subclass sets its own
    model = RegisterModel(protocol="virtual", name="ККТ", code=0, firmware="1",
                          money_limit=0xFF_FFFF_FFFF)

    def __init__(self, *, profile: Profile | None = None, registered: bool = True,
                 state_path: Path | None = None, clock: RegisterClock | None = None,
                 seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self.faults = DeviceFaults()
        self.clock = clock or SystemClock()
        self.seed = seed
        #: the open receipt: RAM only, a power loss forgets it
        self.receipt: OpenReceipt | None = None
        #: who works at the keyboard now (:meth:`cashier_at_keyboard`); None: the front
        #: end's cashier (Shtrih: its cashier table; ATOL: the profile's)
        self.keyboard_cashier: KeyboardCashier | None = None
        #: what went wrong inside the emulator itself (a bug, never the client's fault)
        self.internal_errors: list[str] = []
        self.state_file = StateFile(state_path) if state_path is not None else None
        loaded = self.state_file.load() if self.state_file is not None else None
        base = profile or DEMO_PROFILE
        if loaded is not None:
            if loaded.identity.protocol != self.model.protocol:
                # the other protocol's register would answer with this model's name and
                # numbers but this front end's bytes: no real register does that
                raise ConfigError(
                    _("в файле состояния {path} — ККТ другого протокола ({protocol})").format(
                        path=state_path, protocol=loaded.identity.protocol),
                    _("запустите эмулятор с --driver {protocol} или укажите другой "
                      "--state").format(protocol=loaded.identity.protocol))
            self.state = loaded
            self.profile = base.with_serial(self.state.identity.serial)
            return
        serial, fn_number = fresh_numbers(seed)
        profile = base.with_serial(base.kkt_serial or serial)
        if registered:
            profile.validate()
        self.profile = profile
        self.state = self._fresh_state(profile.kkt_serial, profile.fn_number or fn_number)
        if registered:
            self.register(profile)
        else:
            self.persist()

    def _fresh_state(self, serial: str, fn_number: str) -> RegisterState:
        model = self.model
        identity = Identity(protocol=model.protocol, model=model.name, model_code=model.code,
                            serial=serial, firmware=model.firmware, fn_number=fn_number)
        return RegisterState(identity=identity, archive=self._new_archive(fn_number),
                             sign_key=self._sign_key(fn_number))

    def _sign_key(self, fn_number: str) -> bytes:
        return hashlib.sha256(f"{fn_number}:{self.seed}".encode()).digest()

    def _new_archive(self, fn_number: str) -> Archive:
        return Archive(fn_number, self._sign_key(fn_number))

    # --- time -------------------------------------------------------------------------------

    def now(self) -> datetime:
        return (self.clock.now() + self.state.clock_offset).replace(microsecond=0)

    def document_time(self) -> datetime:
        """The ФН takes date-time from the register to the minute (DATE_TIME has no seconds),
        so every document's 1012 has zero seconds."""
        return self.now().replace(second=0)

    def shift_expired(self) -> bool:
        shift = self.state.shift
        return (shift.is_open and shift.opened_at is not None
                and self.now() - shift.opened_at > SHIFT_LENGTH)

    # --- checks (each refuses before anything changed) -------------------------------------

    @property
    def registered(self) -> bool:
        return self.state.registered

    def need_registered(self) -> None:
        if not self.state.registered:
            refuse(Reason.NOT_REGISTERED)

    def need_no_receipt(self) -> None:
        if self.receipt is not None:
            refuse(Reason.RECEIPT_OPEN)

    def need_paper(self) -> None:
        """Printing stops here when the paper is out."""
        if self.faults.paper_out:
            refuse(Reason.NO_PAPER)

    def need_money(self, *sums: int) -> None:
        """Each sum fits the protocol's money fields, or the register refuses it."""
        if any(not 0 <= value <= self.model.money_limit for value in sums):
            refuse(Reason.TOTAL_OVERFLOW)

    # --- what every document repeats ------------------------------------------------------

    @property
    def ffd_code(self) -> int:
        return self.profile.ffd_code

    @property
    def registered_tax_systems(self) -> int:
        """1062 bits of the last registration (OSN alone before the first one)."""
        registrations = self.state.registrations
        return registrations[-1].tax_systems if registrations else 1

    def cashier_name(self, operator: int) -> str:
        """The cashier ``operator`` stands for (the front end's numbering)."""
        return self.profile.cashier

    def requisites(self, operator: int) -> documents.Requisites:
        """The registration data a document made now repeats; a front end that keeps it in
        its own settings (Shtrih: table 18) overrides this."""
        profile = self.profile
        registration = self.state.registrations[-1] if self.state.registrations else None
        return documents.Requisites(
            ffd_code=self.ffd_code, user=profile.user_name,
            inn=registration.inn if registration else profile.inn,
            rnm=registration.rnm if registration else profile.rnm,
            kkt_serial=self.state.identity.serial, address=profile.address,
            place=profile.place, ofd_name=profile.ofd_name, ofd_inn=profile.ofd_inn,
            tax_systems=registration.tax_systems if registration else profile.tax_systems,
            work_mode=registration.work_mode if registration else profile.work_mode,
            cashier=self.cashier_name(operator), cashier_inn=profile.cashier_inn)

    def document_requisites(self, operator: int) -> documents.Requisites:
        """:meth:`requisites`, with the cashier at the keyboard when one signed in."""
        requisites = self.requisites(operator)
        cashier = self.keyboard_cashier
        if cashier is None:
            return requisites
        return replace(requisites, cashier=cashier.name, cashier_inn=cashier.inn)

    @contextmanager
    def cashier_at_keyboard(self, cashier: KeyboardCashier | None) -> Iterator[None]:
        """Documents made inside carry ``cashier``. The lock is held throughout, so a
        client on the line never gets a document with the keyboard's cashier; nothing is
        written into the front end's tables (the cash software's cashier stays)."""
        with self.lock:
            previous, self.keyboard_cashier = self.keyboard_cashier, cashier
            try:
                yield
            finally:
                self.keyboard_cashier = previous

    # --- the one way a fiscal document is made ----------------------------------------------

    def issue(self, doc_type: int, tags: list[tuple[int, TagValue]], details: dict[str, Any],
              apply: Callable[[StoredDocument], None] | None = None) -> StoredDocument:
        """Make a fiscal document: numbered, signed, stored and saved, or nothing at all.

        ``apply`` changes the register's state the document stands for (a shift opened, a
        receipt closed); it runs after the document is in the archive and before the state
        is saved, so the saved file never has one without the other.
        """
        try:
            document = self.state.archive.prepare(doc_type, tags, self.document_time(), details)
        except DocumentError:
            refuse(Reason.TLV_TOO_LARGE)
        self.state.archive.commit(document)
        if apply is not None:
            apply(document)
        shift = self.state.shift
        if shift.is_open or doc_type == DOC_SHIFT_OPEN:
            shift.documents += 1
        self.next_through_number()
        try:
            self.persist()
        except OSError:
            # the write did not finish: as after a power loss, the register comes back with
            # what is on disk, and the document that was not written does not exist
            self.restart()
            refuse(Reason.FN_FAILURE)
        return document

    def next_through_number(self) -> int:
        """Count one more printed document; the counter is u16 and wraps."""
        self.state.through_number = (self.state.through_number + 1) & 0xFFFF
        return self.state.through_number

    # --- registration -----------------------------------------------------------------------

    def fiscalize_now(self, operator: int, *, inn: str, rnm: str, tax_systems: int,
                      work_mode: int, reason: int | None,
                      extra_tags: Sequence[tuple[int, TagValue]] = (),
                      requisites: documents.Requisites | None = None) -> StoredDocument:
        """The registration report (``reason`` None) or a re-registration report: checks
        what a real register checks (INN and RNM check digits, tax systems, a closed shift).
        ``requisites``: the front end's, when it keeps them (the new INN/RNM already in)."""
        self.need_no_receipt()
        if self.state.shift.is_open:
            refuse(Reason.SHIFT_OPEN)
        if (reason is None) == self.state.registered:
            refuse(Reason.FN_BAD_STATE)  # a first registration only on a fresh ФН
        if (not inn_is_valid(inn) or not rnm_is_valid(rnm, inn, self.state.identity.serial)
                or not 0 < tax_systems < 64 or not 0 <= work_mode < 64
                or (reason is not None and not 1 <= reason <= MAX_REASON)):
            refuse(Reason.BAD_PARAMETERS)
        self.need_paper()
        if requisites is None:
            requisites = self.document_requisites(operator)
        requisites = replace(requisites, inn=inn, rnm=rnm, tax_systems=tax_systems,
                             work_mode=work_mode)
        tags = documents.registration(requisites, self.document_time(), reason)
        tags += list(extra_tags)
        details: dict[str, Any] = {"inn": inn.ljust(12), "rnm": rnm.ljust(20),
                                   "tax_systems": tax_systems, "work_mode": work_mode}
        if reason is not None:
            details["reason"] = reason
        state = self.state

        def registered(document: StoredDocument) -> None:
            state.lifecycle = LIFECYCLE_FISCAL
            state.registrations.append(FnRegistration(
                at=document.created_at, inn=inn, rnm=rnm, tax_systems=tax_systems,
                work_mode=work_mode, fd_number=document.number,
                fiscal_sign=document.fiscal_sign, reason=reason,
                ofd_inn=requisites.ofd_inn.strip()[:12]))

        return self.issue(DOC_REGISTRATION if reason is None else DOC_REREGISTRATION, tags,
                          details, registered)

    def replace_fn_now(self, fn_number: str | None = None) -> str:
        """A new, empty ФН in place of the old one (the old one's archive goes with it): the
        register must be registered again before it sells. Returns the new ФН number."""
        self.need_no_receipt()
        if self.state.shift.is_open:
            refuse(Reason.SHIFT_OPEN)
        number = fn_number or fresh_numbers(None)[1]
        if number == self.state.identity.fn_number or len(number) != 16 or not number.isdigit():
            refuse(Reason.BAD_PARAMETERS)
        state = self.state
        state.identity = replace(state.identity, fn_number=number)
        state.archive = self._new_archive(number)
        state.sign_key = self._sign_key(number)
        state.lifecycle = LIFECYCLE_READY
        state.registrations = []
        self.persist()
        return number

    # --- shifts -----------------------------------------------------------------------------

    def open_shift_now(self, operator: int) -> StoredDocument:
        shift = self.state.shift
        number = shift.number + 1
        now = self.now()

        def opened(_document: StoredDocument) -> None:
            shift.is_open = True
            shift.number = number
            shift.opened_at = now
            shift.receipts = 0
            shift.documents = 0

        tags = documents.shift_open(self.document_requisites(operator), self.document_time(),
                                    number)
        return self.issue(DOC_SHIFT_OPEN, tags, {"shift_number": number}, opened)

    def close_shift_now(self, operator: int) -> StoredDocument:
        state = self.state
        shift = state.shift
        now = self.document_time()
        unsent = state.archive.unacknowledged()
        # the close report itself is one more document of the shift, and not yet sent either
        tags = documents.shift_close(
            self.document_requisites(operator), now, shift.number, shift.documents + 1,
            shift.receipts, len(unsent) + 1, unsent[0].created_at if unsent else now)

        def closed(_document: StoredDocument) -> None:
            shift.is_open = False
            shift.opened_at = None

        return self.issue(DOC_SHIFT_CLOSE, tags, {"shift_number": shift.number}, closed)

    # --- receipts ---------------------------------------------------------------------------

    def check_can_sell(self) -> None:
        """A sale may start in an open shift, or open one itself; not after 24 hours."""
        self.need_registered()
        if self.shift_expired():
            refuse(Reason.SHIFT_OVER_24H)
        if not self.state.shift.is_open:
            self.need_paper()  # opening the shift prints its report

    def add_line_now(self, operation: int, operator: int, line: Line) -> OpenReceipt:
        """Add ``line`` to the open receipt of ``operation``, opening it (and the shift, as
        ФН-era firmware does) when there is none. Every refusal comes before any change."""
        receipt = self.receipt
        if receipt is not None and receipt.operation != operation:
            refuse(Reason.RECEIPT_OTHER_TYPE)
        if receipt is None:
            self.check_can_sell()  # before the sums: a closed register refuses as such
        self.need_money(line.price, line.amount,
                        line.amount + (receipt.total if receipt is not None else 0))
        return self.start_receipt_now(operation, operator, [line])

    def start_receipt_now(self, operation: int, operator: int,
                          lines: Sequence[Line] = ()) -> OpenReceipt:
        if self.receipt is None:
            if operation not in OPERATIONS:
                refuse(Reason.BAD_PARAMETERS)
            self.check_can_sell()
            if not self.state.shift.is_open:
                self.open_shift_now(operator)
            self.receipt = OpenReceipt(operation, operator)
        self.receipt.lines.extend(lines)
        return self.receipt

    def open_receipt(self) -> OpenReceipt:
        if self.receipt is None:
            refuse(Reason.RECEIPT_CLOSED)
        return self.receipt

    def close_receipt_now(self, cash: int, others: documents.Payments, discount_delta: int,
                          tax_system_bit: int, *, forbid_zero: bool = False
                          ) -> tuple[int, StoredDocument]:
        """Close the open receipt into a document: (change, document).

        ``cash`` is the cash handed over (change comes out of it); ``others`` the other
        payments; ``discount_delta`` a receipt discount (negative) or surcharge spread over
        the lines; ``tax_system_bit`` 0 for the lowest registered tax system."""
        receipt = self.open_receipt()
        if self.shift_expired():
            # the receipt was opened in time, but the ФН signs nothing after 24 hours
            refuse(Reason.FN_SHIFT_OVER_24H)
        state = self.state
        registered_taxes = self.registered_tax_systems
        if tax_system_bit == 0:
            tax_system_bit = registered_taxes & -registered_taxes  # the lowest registered one
        if tax_system_bit & (tax_system_bit - 1) or not tax_system_bit & registered_taxes:
            refuse(Reason.BAD_PARAMETERS)
        if not receipt.lines:
            refuse(Reason.ZERO_TOTAL)
        # work on a copy: a refusal below must leave the receipt as it was
        draft = OpenReceipt(receipt.operation, receipt.operator,
                            [Line(**vars(line)) for line in receipt.lines],
                            list(receipt.requisites))
        for line in draft.lines:
            line.extra = list(line.extra)
        if discount_delta:
            draft.spread(discount_delta)
        total = draft.total
        non_cash = others.electronic + others.prepaid + others.credit + others.provision
        self.need_money(total, cash, non_cash, cash + non_cash)
        if total == 0 and forbid_zero:
            refuse(Reason.ZERO_TOTAL)
        if cash + non_cash < total:
            refuse(Reason.PAYMENTS_LESS_THAN_TOTAL)
        if non_cash > total:
            refuse(Reason.NON_CASH_ABOVE_TOTAL, paid=non_cash, total=total)
        change = cash + non_cash - total
        kept = cash - change
        into_drawer = kept if draft.operation in CASH_INTO_DRAWER else -kept
        if state.cash_in_drawer + into_drawer < 0:
            refuse(Reason.NOT_ENOUGH_CASH)
        self.need_paper()
        payments = documents.Payments(cash=kept, electronic=others.electronic,
                                      prepaid=others.prepaid, credit=others.credit,
                                      provision=others.provision)
        shift = state.shift
        number = shift.receipts + 1
        tags = documents.receipt(self.document_requisites(draft.operator), self.document_time(),
                                 shift.number, number, draft, tax_system_bit, payments)

        def closed(_document: StoredDocument) -> None:
            shift.receipts = number
            state.cash_in_drawer += into_drawer
            self.receipt = None

        document = self.issue(DOC_RECEIPT, tags,
                              {"operation": draft.operation, "total": total}, closed)
        return change, document

    def cancel_receipt_now(self) -> None:
        self.open_receipt()
        self.need_paper()
        self.receipt = None
        self.next_through_number()

    def correction_now(self, operator: int, operation: int, amount: int) -> StoredDocument:
        """A correction receipt (31): a sum to correct, paid in cash, self-initiated."""
        self.need_no_receipt()
        self.need_registered()
        if self.shift_expired():
            refuse(Reason.SHIFT_OVER_24H)
        if not self.state.shift.is_open:
            refuse(Reason.SHIFT_CLOSED)
        if operation not in (1, 3):
            refuse(Reason.BAD_PARAMETERS)
        self.need_money(amount)
        self.need_paper()
        shift = self.state.shift
        number = shift.receipts + 1
        taxes = self.registered_tax_systems
        tags = documents.correction(self.document_requisites(operator), self.document_time(),
                                    shift.number, number, operation, taxes & -taxes, amount)

        def made(_document: StoredDocument) -> None:
            shift.receipts = number

        return self.issue(DOC_CORRECTION, tags, {"operation": operation, "total": amount}, made)

    def cash_now(self, operator: int, amount: int, *, into_drawer: bool) -> int:
        """Cash in (``into_drawer``) or out; opens the shift when it is closed, as ФН-era
        firmware does. Returns the through number of the slip."""
        self.need_no_receipt()
        self.need_registered()
        if self.shift_expired():
            refuse(Reason.SHIFT_OVER_24H)
        if amount <= 0:
            refuse(Reason.BAD_PARAMETERS)
        self.need_money(amount)
        state = self.state
        if not into_drawer and amount > state.cash_in_drawer:
            refuse(Reason.NOT_ENOUGH_CASH)
        self.need_paper()
        if not state.shift.is_open:
            self.open_shift_now(operator)
        state.cash_in_drawer += amount if into_drawer else -amount
        number = self.next_through_number()
        self.persist()
        return number

    # --- power and the state file ----------------------------------------------------------

    def restart(self) -> None:
        """What a power loss leaves: RAM is gone (an open receipt); the ФН and the saved
        state keep every complete document. A front end extends it with its own RAM."""
        self.receipt = None
        if self.state_file is not None:
            loaded = self.state_file.load()
            if loaded is not None:
                self.state = loaded

    def power_cycle(self) -> None:
        """Power fails and comes back."""
        with self.lock:
            self.restart()

    def persist(self) -> None:
        if self.state_file is not None:
            self.state_file.save(self.state)

    # --- the archive and the OFD ------------------------------------------------------------

    def archive(self) -> list[bytes]:
        """Every document in the ФН, in ФД order, as the ФН stores it (FFD TLV)."""
        with self.lock:
            return [document.tlv for document in self.state.archive.documents]

    def document(self, number: int) -> StoredDocument | None:
        with self.lock:
            return self.state.archive.get(number)

    def acknowledge_ofd(self, up_to: int | None = None) -> int:
        """The OFD confirmed documents (all, or up to ФД ``up_to``): the queue shrinks."""
        with self.lock:
            count = self.state.archive.acknowledge(up_to)
            self.persist()
            return count

    def set_clock_offset(self, offset: timedelta) -> None:
        """Move the register's own clock away from the base clock (kept across restarts)."""
        with self.lock:
            self.state.clock_offset = offset
            self.persist()

    # --- at the register: what a cashier and a service engineer do ------------------------

    def register(self, profile: Profile | None = None, *,
                 reason: int | None = None) -> StoredDocument:
        """Register with ``profile`` (a re-registration with ``reason`` when registered:
        4 by default). A front end overrides this to go through its protocol."""
        profile = (profile or self.profile).with_serial(self.state.identity.serial)
        with self.lock:
            if self.state.registered and reason is None:
                reason = 4
            previous = self.profile
            self.profile = profile
            try:
                return self.fiscalize_now(
                    0, inn=profile.inn, rnm=profile.rnm, tax_systems=profile.tax_systems,
                    work_mode=profile.work_mode,
                    reason=reason if self.state.registered else None)
            except BaseException:
                self.profile = previous
                raise

    def replace_fn(self, fn_number: str | None = None, *,
                   profile: Profile | None = None) -> StoredDocument:
        """A service engineer's ФН replacement: a new ФН, registered again at once with the
        current (or the given) profile."""
        with self.lock:
            self.replace_fn_now(fn_number)
            return self.register(profile)

    def open_shift(self) -> StoredDocument:
        with self.lock:
            self.need_no_receipt()
            self.need_registered()
            if self.state.shift.is_open:
                refuse(Reason.SHIFT_OPEN)
            self.need_paper()
            return self.open_shift_now(1)

    def close_shift(self) -> StoredDocument:
        with self.lock:
            self.need_no_receipt()
            self.need_registered()
            if not self.state.shift.is_open:
                refuse(Reason.SHIFT_CLOSED)
            self.need_paper()
            return self.close_shift_now(1)

    def sell(self, items: Sequence[Item | tuple[Any, ...]],
             payments: Mapping[str, int] | None = None, *, operation: int = 1,
             **_protocol_options: Any) -> SaleResult:
        """A whole receipt: ``items`` (:class:`Item` or ``(name, price[, quantity])``),
        ``payments`` ``{"cash": ..., "electronic": ...}`` in kopecks (by default cash equal
        to the total), ``operation`` 1054 (1 sale, 2 sale return, 3 purchase, 4 purchase
        return). Returns what the ФН made of it. A front end overrides this to go through
        its protocol."""
        lines = to_items(items)
        with self.lock:
            try:
                for item in lines:
                    quantity = Decimal(str(item.quantity))
                    if item.vat not in VAT_RATES or quantity <= 0:
                        refuse(Reason.BAD_PARAMETERS)
                    self.add_line_now(operation, 1, Line(
                        name=item.name, quantity=quantity.quantize(Decimal("0.000001")),
                        price=item.price, amount=item.amount,
                        vat_rate=item.vat, department=item.department,
                        payment_method=item.payment_method,
                        payment_subject=item.payment_subject))
                total = self.receipt.total if self.receipt is not None else 0
                cash, electronic = split_payments(payments, total)
                change, document = self.close_receipt_now(
                    cash, documents.Payments(electronic=electronic), 0, 0)
            except BaseException:
                self.receipt = None  # as cash software cancels a failed receipt
                raise
            return self.sale_result(document, change)

    def sale_result(self, document: StoredDocument, change: int) -> SaleResult:
        return SaleResult(fd_number=document.number, fiscal_sign=document.fiscal_sign,
                          receipt_number=self.state.shift.receipts,
                          shift_number=self.state.shift.number,
                          total=int(document.details["total"]), change=change,
                          document=document.tlv)


def to_items(items: Sequence[Item | tuple[Any, ...]]) -> list[Item]:
    return [item if isinstance(item, Item) else Item(*item) for item in items]


def split_payments(payments: Mapping[str, int] | None, total: int) -> tuple[int, int]:
    """(cash, electronic) of a payments mapping; cash equal to ``total`` when none given."""
    if payments is None:
        return total, 0
    unknown = set(payments) - {"cash", "electronic"}
    if unknown:
        raise ConfigError(_("неизвестные виды оплаты: {names}").format(
            names=", ".join(sorted(unknown))), _("используйте cash и electronic"))
    return int(payments.get("cash", 0)), int(payments.get("electronic", 0))
