"""The Shtrih face of the virtual register, shared by the command handlers.

:class:`DeviceCore` is a :class:`~kkt_bridge.emulation.register.VirtualRegister` (the ФН,
documents, shifts, receipts: protocol-neutral) with what is Shtrih's own: modes and
submodes, passwords of table 2, the settings tables (kept in the register's state as the
``"tables"`` section), a registration report begun by FF05, the FF3A/FF3B read cursor.
"""

from __future__ import annotations

from typing import Any

from kkt_bridge.emulation import documents
from kkt_bridge.emulation.archive import StoredDocument
from kkt_bridge.emulation.faults import DeviceFaults
from kkt_bridge.emulation.refusal import Reason
from kkt_bridge.emulation.refusal import refuse as refuse_because
from kkt_bridge.emulation.register import RegisterModel, VirtualRegister
from kkt_bridge.fiscal.wire import TagValue

from .codes import OPERATION_TO_RECEIPT_TYPE
from .refusal import (
    WRONG_MODE,
    WRONG_PASSWORD,
    refuse,
)
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
    TableStore,
)

__all__ = ["SHTRIH_MODEL", "DeviceCore", "DeviceFaults", "cp866_safe"]

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

#: a ШТРИХ-М-01Ф; money is a 5-byte little-endian integer of kopecks (reference §1)
SHTRIH_MODEL = RegisterModel(protocol="shtrih", name="ШТРИХ-М-01Ф", code=250, firmware="C1",
                             money_limit=0xFF_FFFF_FFFF)


def cp866_safe(text: str, limit: int) -> str:
    """What a register can put into a CP866 requisite: unknown characters become '?'."""
    return text.encode("cp866", errors="replace").decode("cp866")[:limit]


class DeviceCore(VirtualRegister):
    model = SHTRIH_MODEL

    # RAM of the Shtrih device, forgotten by a power loss (see restart)
    pending_report: int | None = None
    pending_report_tags: list[tuple[int, TagValue]]
    read_cursor: tuple[StoredDocument, int, int] | None = None
    print_failed = False
    correction_pending = False

    def __init__(self, **options: Any) -> None:
        self._forget_ram()
        super().__init__(**options)

    def _forget_ram(self) -> None:
        #: FF05 opened a registration report of this type; FF06/FF34 finish it
        self.pending_report = None
        self.pending_report_tags = []
        #: FF3A chose a document; FF3B walks its top-level TLVs: (document, offset, end of
        #: the TLV being sent when it takes more than one answer)
        self.read_cursor = None
        self.print_failed = False
        #: FF35 began a correction receipt; FF36 makes it
        self.correction_pending = False

    def restart(self) -> None:
        self._forget_ram()
        super().restart()

    @property
    def tables(self) -> TableStore:
        """The settings tables, saved with the register's state."""
        return self.state.section("tables", TableStore.from_json, TableStore)

    # --- modes ----------------------------------------------------------------------------

    def mode(self) -> int:
        if self.receipt is not None:
            return MODE_DOCUMENT_OPEN | (OPERATION_TO_RECEIPT_TYPE[self.receipt.operation] << 4)
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
        tables = self.tables
        for row in range(1, CASHIER_ROWS + 1):
            if tables.get_int(2, row, 1) == password and (rows is None or row in rows):
                return row
        refuse(WRONG_PASSWORD)

    def need_paper(self) -> None:
        """Printing commands stop here when the paper is out (submode 2 until it is back)."""
        if self.faults.paper_out:
            self.print_failed = True
        super().need_paper()

    def need_shift_closed(self) -> None:
        """Shift-closed commands (open a shift, registration reports) refuse anything else.
        An open shift is the register's refusal (the same code on the line), so the
        keyboard is told what is wrong."""
        if self.mode() != MODE_SHIFT_CLOSED:
            if self.receipt is None:
                refuse_because(Reason.SHIFT_OPEN)
            refuse(WRONG_MODE)

    def need_shift_for_sale(self) -> None:
        """A sale may start in an open shift, or open one itself; not after 24 hours."""
        mode = self.mode()
        if mode == MODE_SHIFT_EXPIRED:
            refuse_because(Reason.SHIFT_OVER_24H)  # SHIFT_OVER_24H on the line
        if mode not in (MODE_WORKING_SHIFT_OPEN, MODE_SHIFT_CLOSED):
            refuse(WRONG_MODE)

    # --- documents ------------------------------------------------------------------------

    def cashier_name(self, operator: int) -> str:
        return cp866_safe(self.tables.get_str(2, operator, 2).strip(), 64)

    def requisites(self, operator: int) -> documents.Requisites:
        tables = self.tables
        t18 = lambda field: tables.get_str(18, 1, field).strip()  # noqa: E731
        registration = self.state.registrations[-1] if self.state.registrations else None
        return documents.Requisites(
            ffd_code=self.ffd_code,
            user=cp866_safe(t18(T18_USER), 256),
            inn=t18(T18_INN),
            rnm=t18(T18_RNM),
            kkt_serial=self.state.identity.serial,
            address=cp866_safe(t18(T18_ADDRESS), 256),
            place=cp866_safe(t18(T18_PLACE), 256),
            ofd_name=cp866_safe(t18(T18_OFD_NAME), 256),
            ofd_inn=t18(T18_OFD_INN)[:12],
            tax_systems=registration.tax_systems if registration else tables.get_int(
                18, 1, T18_TAX),
            work_mode=registration.work_mode if registration else tables.get_int(
                18, 1, T18_MODE),
            cashier=self.cashier_name(operator),
            cashier_inn=t18(T18_CASHIER_INN)[:12],
        )

    @property
    def ffd_code(self) -> int:
        # table 17 field 17 "формат ФД": 2 = 1.05, 4 = 1.2
        return 4 if self.tables.get_int(17, 1, 17) >= 4 else 2
