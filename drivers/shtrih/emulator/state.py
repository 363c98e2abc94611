"""Everything the emulated register remembers (saved by :mod:`.statefile`).

:class:`DeviceState` is what a real register keeps in its memory and its ФН: tables,
counters, the shift, the archive, the clock offset. An open receipt is *not* part of it: a
real register loses a receipt in progress when the power goes, and so does the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .archive import Archive, StoredDocument
from .tables import TableStore

STATE_FORMAT = 1


@dataclass(frozen=True)
class Identity:
    """What the register says about itself (0xFC, 0x11, FF02..FF04)."""

    model_name: str = "ШТРИХ-М-01Ф"
    model: int = 250
    device_type: int = 0
    subtype: int = 0
    protocol_version: int = 1
    protocol_subversion: int = 14
    firmware_version: bytes = b"C1"
    firmware_build: int = 36186
    firmware_date: date = date(2024, 3, 19)
    fp_version: bytes = b"C1"
    fp_build: int = 36186
    fp_date: date = date(2024, 3, 19)
    kkt_serial: str = "0000000123456789"
    fn_number: str = "9999078902012345"
    fn_valid_until: date = date(2029, 12, 31)
    fn_version: str = "fn debug v 2.41"
    fn_registrations_max: int = 30


@dataclass
class FnRegistration:
    """One registration or re-registration as the ФН remembers it (FF09)."""

    at: datetime
    inn: str
    rnm: str
    tax_systems: int
    work_mode: int
    fd_number: int
    fiscal_sign: int
    reason: int | None = None
    ofd_inn: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "inn": self.inn, "rnm": self.rnm,
                "tax_systems": self.tax_systems, "work_mode": self.work_mode,
                "fd_number": self.fd_number, "fiscal_sign": self.fiscal_sign,
                "reason": self.reason, "ofd_inn": self.ofd_inn}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FnRegistration:
        return cls(at=datetime.fromisoformat(data["at"]), inn=str(data["inn"]),
                   rnm=str(data["rnm"]), tax_systems=int(data["tax_systems"]),
                   work_mode=int(data["work_mode"]), fd_number=int(data["fd_number"]),
                   fiscal_sign=int(data["fiscal_sign"]),
                   reason=None if data["reason"] is None else int(data["reason"]),
                   ofd_inn=str(data.get("ofd_inn", "")))


@dataclass
class ShiftState:
    is_open: bool = False
    number: int = 0  # the open shift, or the last closed one
    opened_at: datetime | None = None
    receipts: int = 0  # receipts closed in this shift (1042 of the last one)
    documents: int = 0  # fiscal documents made in this shift (1111)

    def to_json(self) -> dict[str, Any]:
        return {"is_open": self.is_open, "number": self.number,
                "opened_at": self.opened_at.isoformat() if self.opened_at else None,
                "receipts": self.receipts, "documents": self.documents}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShiftState:
        opened = data.get("opened_at")
        return cls(is_open=bool(data["is_open"]), number=int(data["number"]),
                   opened_at=datetime.fromisoformat(opened) if opened else None,
                   receipts=int(data["receipts"]), documents=int(data["documents"]))


LIFECYCLE_READY = 1  # set up, ready to fiscalize
LIFECYCLE_FISCAL = 3  # fiscal mode


@dataclass
class DeviceState:
    identity: Identity
    tables: TableStore
    archive: Archive
    sign_key: bytes
    lifecycle: int = LIFECYCLE_READY
    registrations: list[FnRegistration] = field(default_factory=list)
    shift: ShiftState = field(default_factory=ShiftState)
    #: the device's own through counter of printed documents (0x11, 0x50/0x51 answers)
    through_number: int = 0
    cash_in_drawer: int = 0
    clock_offset: timedelta = timedelta(0)

    @property
    def registered(self) -> bool:
        return self.lifecycle == LIFECYCLE_FISCAL

    def to_json(self) -> dict[str, Any]:
        ident = self.identity
        return {
            "format": STATE_FORMAT,
            "identity": {
                "model_name": ident.model_name, "model": ident.model,
                "kkt_serial": ident.kkt_serial, "fn_number": ident.fn_number,
                "fn_valid_until": ident.fn_valid_until.isoformat(),
            },
            "sign_key": self.sign_key.hex(),
            "lifecycle": self.lifecycle,
            "registrations": [r.to_json() for r in self.registrations],
            "shift": self.shift.to_json(),
            "through_number": self.through_number,
            "cash_in_drawer": self.cash_in_drawer,
            "clock_offset": self.clock_offset.total_seconds(),
            "tables": self.tables.to_json(),
            # the documents themselves live in the append-only archive file
            "documents": len(self.archive.documents),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any],
                  documents: list[dict[str, Any]]) -> DeviceState:
        """The state of ``data`` with the first ``data["documents"]`` of ``documents``."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown state format {data.get('format')!r}")
        raw_ident = data["identity"]
        identity = Identity(
            model_name=str(raw_ident["model_name"]), model=int(raw_ident["model"]),
            kkt_serial=str(raw_ident["kkt_serial"]), fn_number=str(raw_ident["fn_number"]),
            fn_valid_until=date.fromisoformat(raw_ident["fn_valid_until"]),
        )
        key = bytes.fromhex(data["sign_key"])
        archive = Archive(identity.fn_number, key)
        count = int(data["documents"])
        if len(documents) < count:
            raise ValueError(f"the archive holds {len(documents)} documents, not {count}")
        for raw in documents[:count]:
            archive.commit(StoredDocument.from_json(raw))
        return cls(
            identity=identity, tables=TableStore.from_json(data["tables"]), archive=archive,
            sign_key=key, lifecycle=int(data["lifecycle"]),
            registrations=[FnRegistration.from_json(r) for r in data["registrations"]],
            shift=ShiftState.from_json(data["shift"]),
            through_number=int(data["through_number"]),
            cash_in_drawer=int(data["cash_in_drawer"]),
            clock_offset=timedelta(seconds=float(data["clock_offset"])),
        )
