"""The driver-neutral register interface: the only seam the core sees.

A driver (``kkt_bridge.drivers.<protocol>``) implements :class:`Kkt`; nothing above this
module knows a vendor byte. All models are frozen; money is integer kopecks.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from kkt_bridge.fiscal.facts import TaxSystem

TAX_SYSTEM_NAMES: dict[TaxSystem, str] = {
    TaxSystem.OSN: "ОСН",
    TaxSystem.USN_INCOME: "УСН доход",
    TaxSystem.USN_INCOME_EXPENSE: "УСН доход - расход",
    TaxSystem.ENVD: "ЕНВД",
    TaxSystem.ESHN: "ЕСХН",
    TaxSystem.PSN: "ПСН",
}


def tax_system_names(mask: int) -> list[str]:
    return [name for bit, name in TAX_SYSTEM_NAMES.items() if mask & bit]




@dataclass(frozen=True)
class Identity:
    """Who the register is. ``fn_number`` is None when no ФН is installed."""

    protocol: str  # driver name: "shtrih", "atol"
    model: str  # e.g. "ШТРИХ-М-01Ф"
    model_code: int
    serial: str
    firmware: str
    fn_number: str | None

    @property
    def key(self) -> str:
        """Stable id of a register + ФН pair; a new ФН is a new key."""
        return f"{self.serial}:{self.fn_number or '-'}"


class ShiftState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    EXPIRED = "expired"  # open for more than 24 h: must be closed before selling


@dataclass(frozen=True)
class KktStatus:
    """The register's working state (Shtrih 0x10/0x11, ATOL 3F)."""

    mode: int
    submode: int
    mode_text: str
    shift: ShiftState
    receipt_open: bool
    paper_present: bool
    operator: int
    clock: datetime | None = None


@dataclass(frozen=True)
class Registration:
    """The register's current fiscal registration (last registration/re-registration report)."""

    inn: str
    rnm: str
    tax_systems: int  # TaxSystem bit mask
    work_mode: int
    ffd_version: str  # "1.05", "1.2"
    registered_at: datetime
    fd_number: int
    fiscal_sign: int

    @property
    def tax_system_names(self) -> list[str]:
        return tax_system_names(self.tax_systems)


class FnLifecycle(enum.IntEnum):
    SETUP = 0
    READY = 1  # ready to fiscalize
    FISCAL = 3
    CLOSED = 7  # fiscal mode closed, still sending to the OFD
    ARCHIVE = 15  # read-only


@dataclass(frozen=True)
class FnStatus:
    """State of the fiscal storage (ФН)."""

    fn_number: str
    lifecycle: int
    shift_open: bool
    last_fd_number: int
    last_document_at: datetime | None
    warnings: int = 0
    valid_until: datetime | None = None

    @property
    def fiscal(self) -> bool:
        return bool(self.lifecycle & 0b10) and not self.lifecycle & 0b100


@dataclass(frozen=True)
class OfdQueue:
    """Documents the ФН has not yet delivered to the OFD."""

    unsent: int
    first_unsent_fd: int | None
    first_unsent_at: datetime | None


@dataclass(frozen=True)
class Shift:
    open: bool
    number: int
    receipt_number: int


@dataclass(frozen=True)
class DocumentInfo:
    """A ФН archive entry as the register summarises it (Shtrih FF0A)."""

    fd_number: int
    document_type: int  # FFD STLV tag: 1, 11, 2, 21, 3, 31, 4, 41, 5, 6
    created_at: datetime
    fiscal_sign: int
    ofd_acknowledged: bool
    details: dict[str, int | str] = field(default_factory=dict)


class Capability(enum.Enum):
    """What a register can do that another cannot; a driver lists its own in
    ``Kkt.capabilities`` (a register without the attribute has the Shtrih-M set)."""

    #: cashier names live in a table of the register that the bridge can write
    CASHIER_TABLE = "cashier_table"
    #: the cash software writes the cashier (tags 1021/1203) into each document itself
    CASHIER_PER_DOCUMENT = "cashier_per_document"


DEFAULT_CAPABILITIES = frozenset({Capability.CASHIER_TABLE})


def capabilities_of(kkt: object) -> frozenset[Capability]:
    found = getattr(kkt, "capabilities", None)
    return frozenset(found) if found is not None else DEFAULT_CAPABILITIES


@dataclass(frozen=True)
class Cashier:
    row: int
    name: str


@runtime_checkable
class Kkt(Protocol):
    """What the core needs from a register, whatever its vendor."""

    def identity(self) -> Identity: ...

    def status(self) -> KktStatus: ...

    def registration(self) -> Registration | None:
        """None when the register is not registered (fiscalized)."""
        ...

    def fn_status(self) -> FnStatus: ...

    def ofd_queue(self) -> OfdQueue: ...

    def shift(self) -> Shift: ...

    def document_info(self, fd_number: int) -> DocumentInfo: ...

    def read_document(self, fd_number: int) -> bytes:
        """Document N exactly as the ФН stores it: type tag u16, length u16, TLV body."""
        ...

    def iter_documents(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        """(fd_number, bytes) for each document of the range, in order."""
        ...

    def read_cashiers(self) -> list[Cashier]: ...

    def write_cashier(self, row: int, name: str) -> None: ...

    def close(self) -> None: ...
