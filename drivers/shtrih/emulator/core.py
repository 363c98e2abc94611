"""The emulated register's state machine, shared by the command handlers.

Modes, passwords, the paper, and the one way a fiscal document is made (:meth:`issue`):
prepared (numbered, signed, encoded) first, then committed to the archive and saved, so a
refusal or a failure in between leaves no trace and the ФН never holds half a document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kkt_bridge.errors import DocumentError
from kkt_bridge.fiscal.wire import TagValue

from . import documents
from .archive import DOC_SHIFT_OPEN, StoredDocument
from .clock import Clock
from .refusal import (
    FN_FAILURE,
    NO_PAPER,
    NOT_FISCALIZED,
    RECEIPT_OPEN,
    SHIFT_OVER_24H,
    WRONG_MODE,
    WRONG_PASSWORD,
    refuse,
)
from .sale import OpenReceipt
from .state import DeviceState
from .statefile import StateFile
from .tables import (
    ADMIN_ROW,
    CASHIER_ROWS,
    SENIOR_CASHIER_ROW,
    SYSADMIN_ROW,
    T18_ADDRESS,
    T18_CASHIER_INN,
    T18_INN,
    T18_MODE,
    T18_OFD_INN,
    T18_OFD_NAME,
    T18_PLACE,
    T18_RNM,
    T18_TAX,
    T18_USER,
)

TLV_TOO_LARGE = 0x10
SHIFT_LENGTH = timedelta(hours=24)

MODE_WORKING_SHIFT_OPEN = 2
MODE_SHIFT_EXPIRED = 3
MODE_SHIFT_CLOSED = 4
MODE_DOCUMENT_OPEN = 8

SUBMODE_PAPER = 0
SUBMODE_NO_PAPER_PASSIVE = 1
SUBMODE_NO_PAPER_ACTIVE = 2

ADMIN_ROWS = frozenset({ADMIN_ROW, SYSADMIN_ROW})
X_REPORT_ROWS = frozenset({SENIOR_CASHIER_ROW, ADMIN_ROW, SYSADMIN_ROW})
SYSADMIN_ONLY = frozenset({SYSADMIN_ROW})


@dataclass
class DeviceFaults:
    """Faults of the device itself; the link's faults live in :mod:`.faults`."""

    paper_out: bool = False


def cp866_safe(text: str, limit: int) -> str:
    """What a register can put into a CP866 requisite: unknown characters become '?'."""
    return text.encode("cp866", errors="replace").decode("cp866")[:limit]


class DeviceCore:
    state: DeviceState
    clock: Clock
    faults: DeviceFaults
    state_file: StateFile | None

    def __init__(self) -> None:
        self.receipt: OpenReceipt | None = None
        #: FF05 opened a registration report of this type; FF06/FF34 finish it
        self.pending_report: int | None = None
        self.pending_report_tags: list[tuple[int, TagValue]] = []
        #: FF3A chose a document; FF3B walks its top-level TLVs: (document, offset, end of
        #: the TLV being sent when it takes more than one answer)
        self.read_cursor: tuple[StoredDocument, int, int] | None = None
        self.print_failed = False
        #: FF35 began a correction receipt; FF36 makes it
        self.correction_pending = False

    # --- time -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return (self.clock.now() + self.state.clock_offset).replace(microsecond=0)

    def document_time(self) -> datetime:
        """The ФН takes date-time from the register to the minute (DATE_TIME has no seconds),
        so every document's 1012 has zero seconds."""
        return self.now().replace(second=0)

    # --- modes ----------------------------------------------------------------------------

    def shift_expired(self) -> bool:
        shift = self.state.shift
        return (shift.is_open and shift.opened_at is not None
                and self.now() - shift.opened_at > SHIFT_LENGTH)

    def mode(self) -> int:
        if self.receipt is not None:
            return MODE_DOCUMENT_OPEN | (self.receipt.receipt_type << 4)
        if self.shift_expired():
            return MODE_SHIFT_EXPIRED
        if self.state.shift.is_open:
            return MODE_WORKING_SHIFT_OPEN
        return MODE_SHIFT_CLOSED

    def submode(self) -> int:
        if not self.faults.paper_out:
            self.print_failed = False
            return SUBMODE_PAPER
        return SUBMODE_NO_PAPER_ACTIVE if self.print_failed else SUBMODE_NO_PAPER_PASSIVE

    # --- checks (each refuses before anything changed) -----------------------------------

    def operator(self, password: int, rows: frozenset[int] | None = None) -> int:
        """The table 2 row whose password this is; 0x4F if none (or not one of ``rows``)."""
        tables = self.state.tables
        for row in range(1, CASHIER_ROWS + 1):
            if tables.get_int(2, row, 1) == password and (rows is None or row in rows):
                return row
        refuse(WRONG_PASSWORD)

    def need_registered(self) -> None:
        if not self.state.registered:
            refuse(NOT_FISCALIZED)

    def need_no_receipt(self) -> None:
        if self.receipt is not None:
            refuse(RECEIPT_OPEN)

    def need_paper(self) -> None:
        """Printing commands stop here when the paper is out (submode 2 until it is back)."""
        if self.faults.paper_out:
            self.print_failed = True
            refuse(NO_PAPER)

    def need_shift_closed(self) -> None:
        """Shift-closed commands (open a shift, registration reports) refuse anything else."""
        if self.mode() != MODE_SHIFT_CLOSED:
            refuse(WRONG_MODE)

    def need_shift_for_sale(self) -> None:
        """A sale may start in an open shift, or open one itself; not after 24 hours."""
        mode = self.mode()
        if mode == MODE_SHIFT_EXPIRED:
            refuse(SHIFT_OVER_24H)
        if mode not in (MODE_WORKING_SHIFT_OPEN, MODE_SHIFT_CLOSED):
            refuse(WRONG_MODE)

    # --- documents ------------------------------------------------------------------------

    def requisites(self, operator: int) -> documents.Requisites:
        tables = self.state.tables
        t18 = lambda field: tables.get_str(18, 1, field).strip()  # noqa: E731
        registration = self.state.registrations[-1] if self.state.registrations else None
        return documents.Requisites(
            ffd_code=self.ffd_code,
            user=cp866_safe(t18(T18_USER), 256),
            inn=t18(T18_INN),
            rnm=t18(T18_RNM),
            kkt_serial=self.state.identity.kkt_serial,
            address=cp866_safe(t18(T18_ADDRESS), 256),
            place=cp866_safe(t18(T18_PLACE), 256),
            ofd_name=cp866_safe(t18(T18_OFD_NAME), 256),
            ofd_inn=t18(T18_OFD_INN)[:12],
            tax_systems=registration.tax_systems if registration else tables.get_int(
                18, 1, T18_TAX),
            work_mode=registration.work_mode if registration else tables.get_int(
                18, 1, T18_MODE),
            cashier=cp866_safe(tables.get_str(2, operator, 2).strip(), 64),
            cashier_inn=t18(T18_CASHIER_INN)[:12],
        )

    @property
    def registered_tax_systems(self) -> int:
        """1062 bits of the last registration (OSN alone before the first one)."""
        registrations = self.state.registrations
        return registrations[-1].tax_systems if registrations else 1

    @property
    def ffd_code(self) -> int:
        # table 17 field 17 "формат ФД": 2 = 1.05, 4 = 1.2
        return 4 if self.state.tables.get_int(17, 1, 17) >= 4 else 2

    def issue(self, doc_type: int, tags: list[tuple[int, TagValue]], details: dict[str, Any],
              apply: Callable[[StoredDocument], None] | None = None) -> StoredDocument:
        """Make a fiscal document: numbered, signed, stored and saved, or nothing at all.

        ``apply`` changes the device state the document stands for (a shift opened, a
        receipt closed); it runs after the document is in the archive and before the state
        is saved, so the saved file never has one without the other.
        """
        try:
            document = self.state.archive.prepare(doc_type, tags, self.document_time(), details)
        except DocumentError:
            refuse(TLV_TOO_LARGE)
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
            # the write did not finish: as after a power loss, the device comes back with
            # what is on disk, and the document that was not written does not exist
            self.restart()
            refuse(FN_FAILURE)
        return document

    def next_through_number(self) -> int:
        """Count one more printed document; the device's counter is u16 and wraps."""
        self.state.through_number = (self.state.through_number + 1) & 0xFFFF
        return self.state.through_number

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

        tags = documents.shift_open(self.requisites(operator), self.document_time(), number)
        return self.issue(DOC_SHIFT_OPEN, tags, {"shift_number": number}, opened)

    def restart(self) -> None:
        """What a power loss leaves: RAM is gone (an open receipt, a report in progress, a
        TLV read); the ФН and the saved state keep every complete document."""
        self.receipt = None
        self.pending_report = None
        self.pending_report_tags = []
        self.read_cursor = None
        self.print_failed = False
        self.correction_pending = False
        if self.state_file is not None:
            loaded = self.state_file.load()
            if loaded is not None:
                self.state = loaded

    def persist(self) -> None:
        if self.state_file is not None:
            self.state_file.save(self.state)
