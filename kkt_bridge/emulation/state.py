"""Everything the virtual register remembers (saved by :mod:`.statefile`).

:class:`RegisterState` is what a real register keeps in its memory and its ФН: counters,
the shift, the archive, the clock offset, and the front end's own memory (``sections``: the
Shtrih settings tables, for one), saved beside them. An open receipt is *not* part of it: a
real register loses a receipt in progress when the power goes, and so does the emulator.

The file format is the one the Shtrih emulator wrote before the kit existed (format 1): a
front end's section is a top-level key (``"tables"``), so those files load unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from kkt_bridge.kkt import Identity

from .archive import Archive, StoredDocument

STATE_FORMAT = 1


@dataclass(frozen=True)
class FnFacts:
    """What the ФН itself says about itself besides its number (kept in ``Identity``)."""

    valid_until: date = date(2029, 12, 31)
    version: str = "fn debug v 2.41"
    registrations_max: int = 30


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


T = TypeVar("T")
#: keys of the state file the register itself writes; any other key is a front end's section
_OWN_KEYS = frozenset({"format", "identity", "sign_key", "lifecycle", "registrations", "shift",
                       "through_number", "cash_in_drawer", "clock_offset", "documents",
                       "ofd_acknowledged"})


@dataclass
class _Raw:
    """A section as loaded, until its front end asks for it by name."""

    data: Any

    def to_json(self) -> Any:
        return self.data


@dataclass
class RegisterState:
    identity: Identity
    archive: Archive
    sign_key: bytes
    fn: FnFacts = field(default_factory=FnFacts)
    lifecycle: int = LIFECYCLE_READY
    registrations: list[FnRegistration] = field(default_factory=list)
    shift: ShiftState = field(default_factory=ShiftState)
    #: the device's own through counter of printed documents (0x11, 0x50/0x51 answers)
    through_number: int = 0
    cash_in_drawer: int = 0
    clock_offset: timedelta = timedelta(0)
    #: the front end's own memory by name; each value has ``to_json()``
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def registered(self) -> bool:
        return self.lifecycle == LIFECYCLE_FISCAL

    def section(self, name: str, load: Callable[[Any], T], new: Callable[[], T]) -> T:
        """The front end's section ``name``: loaded from the file with ``load`` the first
        time it is asked for, made with ``new`` when the file had none."""
        current = self.sections.get(name)
        if isinstance(current, _Raw):
            current = self.sections[name] = load(current.data)
        elif current is None:
            current = self.sections[name] = new()
        return current  # type: ignore[no-any-return]

    def to_json(self) -> dict[str, Any]:
        ident = self.identity
        return {
            "format": STATE_FORMAT,
            "identity": {
                "model_name": ident.model, "model": ident.model_code,
                "kkt_serial": ident.serial, "fn_number": ident.fn_number,
                "fn_valid_until": self.fn.valid_until.isoformat(),
                "protocol": ident.protocol, "firmware": ident.firmware,
            },
            "sign_key": self.sign_key.hex(),
            "lifecycle": self.lifecycle,
            "registrations": [r.to_json() for r in self.registrations],
            "shift": self.shift.to_json(),
            "through_number": self.through_number,
            "cash_in_drawer": self.cash_in_drawer,
            "clock_offset": self.clock_offset.total_seconds(),
            **{name: section.to_json() for name, section in sorted(self.sections.items())},
            # the documents themselves live in the append-only archive file, whose lines
            # are never rewritten: the OFD's confirmations are counted here
            "documents": len(self.archive.documents),
            "ofd_acknowledged": self.archive.acknowledged_up_to,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any],
                  documents: list[dict[str, Any]]) -> RegisterState:
        """The state of ``data`` with the first ``data["documents"]`` of ``documents``."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown state format {data.get('format')!r}")
        raw_ident = data["identity"]
        fn_number = str(raw_ident["fn_number"])
        identity = Identity(
            # files written before the kit were the Shtrih emulator's ("C1" firmware)
            protocol=str(raw_ident.get("protocol", "shtrih")), model=str(raw_ident["model_name"]),
            model_code=int(raw_ident["model"]), serial=str(raw_ident["kkt_serial"]),
            firmware=str(raw_ident.get("firmware", "C1")), fn_number=fn_number)
        key = bytes.fromhex(data["sign_key"])
        archive = Archive(fn_number, key)
        count = int(data["documents"])
        if len(documents) < count:
            raise ValueError(f"the archive holds {len(documents)} documents, not {count}")
        for raw in documents[:count]:
            archive.commit(StoredDocument.from_json(raw))
        # before this key, a confirmation made after a document was appended was lost
        acknowledged = int(data.get("ofd_acknowledged", 0))
        if acknowledged:
            archive.acknowledge(acknowledged)
        return cls(
            identity=identity, archive=archive, sign_key=key,
            fn=FnFacts(valid_until=date.fromisoformat(raw_ident["fn_valid_until"])),
            lifecycle=int(data["lifecycle"]),
            registrations=[FnRegistration.from_json(r) for r in data["registrations"]],
            shift=ShiftState.from_json(data["shift"]),
            through_number=int(data["through_number"]),
            cash_in_drawer=int(data["cash_in_drawer"]),
            clock_offset=timedelta(seconds=float(data["clock_offset"])),
            sections={key: _Raw(value) for key, value in data.items() if key not in _OWN_KEYS},
        )
