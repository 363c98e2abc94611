"""In-memory stand-ins for the bridge's tests: a register and a back office."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kkt_bridge.errors import BackOfficeError, DeviceError, LinkTimeoutError, PairingError
from kkt_bridge.exchange import (
    Ack,
    BackOfficeInfo,
    Catalog,
    Credentials,
    Employee,
    ExportDocument,
    Good,
    GoodsGroup,
    RegisterIdentity,
)
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.kkt import (
    Cashier,
    DocumentInfo,
    FnStatus,
    Identity,
    KktStatus,
    OfdQueue,
    Registration,
    Shift,
    ShiftState,
)

RECEIPT = 3
SHIFT_OPEN = 2
SHIFT_CLOSE = 5
REGISTRATION = 1


def fake_document(doc_type: int, fd: int, **fields: Any) -> bytes:
    body = json.dumps({"fd": fd, **fields}).encode()
    return doc_type.to_bytes(2, "little") + len(body).to_bytes(2, "little") + body


def fake_decoder(raw: bytes) -> Mapping[str, Any]:
    from kkt_bridge.errors import DocumentError

    try:
        return dict(json.loads(raw[4:].decode()))
    except ValueError as exc:
        raise DocumentError("повреждён", "перечитайте") from exc


class FakeKkt:
    """A register: identity, registration, a ФН of documents, a cashier table."""

    def __init__(self, serial: str = "0001", fn_number: str | None = "9999000011112222",
                 registered: bool = True) -> None:
        self.serial = serial
        self.fn_number = fn_number
        self.documents: list[bytes] = []
        self.reg: Registration | None = None
        self.cashiers = {row: "" for row in range(1, 31)}
        self.cashier_writes = 0
        self.can_write_cashiers = True
        self.fail_reads: set[int] = set()  # fd numbers whose next read is lost
        self.garbled_once: set[int] = set()
        self.reads = 0
        #: reads left before the link dies (a restart or a noisy line); None: never
        self.read_budget: int | None = None
        #: fd numbers the register leaves out of iter_documents (as if it skipped them)
        self.skipped: set[int] = set()
        self.closed = False
        self.lock = threading.Lock()
        if registered:
            self.register()

    # --- driving the fake ---------------------------------------------------------

    def _add(self, doc_type: int, **fields: Any) -> int:
        fd = len(self.documents) + 1
        self.documents.append(fake_document(doc_type, fd, **fields))
        return fd

    def register(self, inn: str = "7700000000") -> int:
        fd = self._add(REGISTRATION, inn=inn)
        self.reg = Registration(inn=inn, rnm="0000000001012345", tax_systems=1, work_mode=0,
                                ffd_version="1.05", registered_at=datetime(2026, 1, 1),
                                fd_number=fd, fiscal_sign=fd * 1000)
        return fd

    def sell(self, total: int = 10000) -> int:
        return self._add(RECEIPT, total=total)

    def new_fn(self, fn_number: str) -> None:
        self.fn_number = fn_number
        self.documents = []
        self.reg = None

    # --- the Kkt protocol ---------------------------------------------------------

    def identity(self) -> Identity:
        return Identity(protocol="fake", model="FAKE-01Ф", model_code=1, serial=self.serial,
                        firmware="1", fn_number=self.fn_number)

    def status(self) -> KktStatus:
        return KktStatus(mode=2, submode=0, mode_text="", shift=ShiftState.CLOSED,
                         receipt_open=False, paper_present=True, operator=30)

    def registration(self) -> Registration | None:
        return self.reg

    def fn_status(self) -> FnStatus:
        return FnStatus(fn_number=self.fn_number or "", lifecycle=3, shift_open=False,
                        last_fd_number=len(self.documents), last_document_at=None)

    def ofd_queue(self) -> OfdQueue:
        return OfdQueue(unsent=0, first_unsent_fd=None, first_unsent_at=None)

    def shift(self) -> Shift:
        return Shift(open=False, number=1, receipt_number=0)

    def document_info(self, fd_number: int) -> DocumentInfo:
        raw = self.read_document(fd_number)
        return DocumentInfo(fd_number=fd_number, document_type=int.from_bytes(raw[:2], "little"),
                            created_at=datetime(2026, 1, 1), fiscal_sign=0, ofd_acknowledged=True)

    def read_document(self, fd_number: int) -> bytes:
        if self.read_budget is not None:
            if self.read_budget <= 0:
                raise LinkTimeoutError("ККТ не ответила", "проверьте кабель")
            self.read_budget -= 1
        self.reads += 1
        if fd_number in self.fail_reads:
            self.fail_reads.discard(fd_number)
            raise LinkTimeoutError("ККТ не ответила", "проверьте кабель")
        if not 1 <= fd_number <= len(self.documents):
            raise DeviceError("нет документа", "проверьте номер", code=0x08)
        raw = self.documents[fd_number - 1]
        if fd_number in self.garbled_once:
            self.garbled_once.discard(fd_number)
            return raw[:4] + b"\xff" + raw[5:]
        return raw

    def iter_documents(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        for fd in range(first, last + 1):
            if fd not in self.skipped:
                yield fd, self.read_document(fd)

    def read_cashiers(self) -> list[Cashier]:
        return [Cashier(row=row, name=name) for row, name in sorted(self.cashiers.items())]

    def write_cashier(self, row: int, name: str) -> None:
        if not self.can_write_cashiers:
            raise NotImplementedError
        self.cashiers[row] = name
        self.cashier_writes += 1

    def close(self) -> None:
        self.closed = True


@dataclass(eq=False)
class FakeBackOffice:
    """A back office as a pluggy plugin: one-time sync codes, a catalog, a document store
    keyed by ФН + ФД, and failures on demand."""

    name: str = "fake"
    codes: dict[str, str] = field(default_factory=lambda: {"123456": "shop-1"})
    catalog: Catalog = field(default_factory=lambda: Catalog(
        groups=(GoodsGroup("g1", "Напитки"), GoodsGroup("g2", "Соки", "g1")),
        goods=(Good("p1", "Вода", 5000, "g1", code="1", barcodes=("4600000000001",)),
               Good("p2", "Сок", 12000, "g2", code="2", barcodes=("4600000000002",)))))
    employees: list[Employee] = field(default_factory=lambda: [
        Employee("e1", "Иванова А."), Employee("e2", "Петров Б.")])
    stored: dict[str, ExportDocument] = field(default_factory=dict)
    received: list[str] = field(default_factory=list)  # every key sent, repeats included
    batches: list[list[int]] = field(default_factory=list)  # ФД numbers of each export call
    paired: list[RegisterIdentity] = field(default_factory=list)
    #: exceptions raised by the next export calls, in order
    export_failures: list[BackOfficeError] = field(default_factory=list)
    #: accept only this many documents of the next call (then reject the rest)
    accept_limit: int | None = None
    #: rewrites the acknowledgements of the next export call (a lying back office)
    tamper: Callable[[list[Ack]], list[Any]] | None = None
    token: str = "s3cr3t-token-value"

    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        return BackOfficeInfo(name=self.name, title="Тестовый бэк-офис",
                              default_endpoint="http://127.0.0.1:1")

    @hookimpl
    def backoffice_pair(self, backoffice: str, endpoint: str | None, code: str,
                        register: RegisterIdentity) -> Credentials | None:
        if backoffice != self.name:
            return None
        shop = self.codes.pop(code.strip(), None)
        if shop is None:
            raise PairingError("код синхронизации неверен, истёк или уже использован",
                               "получите новый код в бэк-офисе")
        self.paired.append(register)
        return Credentials(backoffice=self.name, endpoint=endpoint or "", token=self.token,
                           account="ООО Ромашка", shop=shop)

    @hookimpl
    def backoffice_fetch_catalog(self, backoffice: str, credentials: Credentials,
                                 since: datetime | None) -> Catalog | None:
        return self.catalog if backoffice == self.name else None

    @hookimpl
    def backoffice_fetch_employees(self, backoffice: str,
                                   credentials: Credentials) -> list[Employee] | None:
        return list(self.employees) if backoffice == self.name else None

    @hookimpl
    def backoffice_export_documents(self, backoffice: str, credentials: Credentials,
                                    documents: Sequence[ExportDocument]) -> list[Ack] | None:
        if backoffice != self.name:
            return None
        self.batches.append([d.fd_number for d in documents])
        if self.export_failures:
            raise self.export_failures.pop(0)
        acks: list[Ack] = []
        for index, document in enumerate(documents):
            if self.accept_limit is not None and index >= self.accept_limit:
                acks.append(Ack(document.key, accepted=False, error="временно не принят"))
                continue
            self.received.append(document.key)
            duplicate = document.key in self.stored
            self.stored.setdefault(document.key, document)
            acks.append(Ack(document.key, accepted=True, duplicate=duplicate))
        self.accept_limit = None
        if self.tamper is not None:
            tamper, self.tamper = self.tamper, None
            return tamper(acks)
        return acks
