"""Shared pieces of the MoySklad tests: a fake clock, a paired plugin, FNS documents."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from kkt_bridge.exchange import Credentials, ExportDocument, RegisterIdentity
from kkt_bridge.plugins.moysklad.fake import FakeMoySklad
from kkt_bridge.plugins.moysklad.plugin import MoySkladPlugin

FN = "9999078900001234"
REGISTER = RegisterIdentity(serial="00106304241", fn_number=FN, model="ШТРИХ-М-01Ф",
                            inn="7736570901", rnm="0000000001002031")


@dataclass
class FakeClock:
    """Monotonic seconds that only move when someone sleeps: tests never wait."""

    t: float = 1000.0
    slept: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.t += seconds


@dataclass
class Shop:
    fake: FakeMoySklad
    clock: FakeClock
    plugin: MoySkladPlugin
    retailstore: dict[str, Any]
    credentials: Credentials


def make_shop(*, seed: bool = True, weight: int = 1) -> Shop:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    store = fake.seed_demo() if seed else fake.add_retailstore("Касса 1", fake.add_organization())
    plugin = MoySkladPlugin(transport=fake, clock=clock.now, sleep=clock.sleep, weight=weight)
    creds = plugin.backoffice_pair(backoffice="moysklad", endpoint=None,
                                   code=f"{fake.token}@{store['name']}", register=REGISTER)
    assert creds is not None
    return Shop(fake, clock, plugin, store, creds)


def shift_open(fd: int, shift: int, when: str = "2026-11-24T09:00:00") -> ExportDocument:
    return ExportDocument(FN, fd, 2, {"code": 2, "shiftNumber": shift, "dateTime": when,
                                      "fiscalDocumentNumber": fd, "fiscalDriveNumber": FN,
                                      "fiscalSign": 3_000_000_000 + fd,
                                      "kktRegId": "0000000001002031    "})


def shift_close(fd: int, shift: int, receipts: int, when: str = "2026-11-24T21:00:00"
                ) -> ExportDocument:
    return ExportDocument(FN, fd, 5, {"code": 5, "shiftNumber": shift, "dateTime": when,
                                      "fiscalDocumentNumber": fd, "fiscalDriveNumber": FN,
                                      "fiscalSign": 3_000_000_000 + fd,
                                      "receiptsQuantity": receipts,
                                      "documentsQuantity": receipts + 2})


def receipt(fd: int, shift: int, items: list[tuple[str, int, float]], *, cash: int | None = None,
            operation: int = 1, when: str = "2026-11-24T10:15:00") -> ExportDocument:
    """items: (name, price in kopecks, quantity); paid by card unless ``cash`` is given."""
    lines: list[dict[str, Any]] = [
        {"name": name, "price": price, "quantity": qty, "sum": round(price * qty), "nds": 1}
        for name, price, qty in items]
    total = sum(int(line["sum"]) for line in lines)
    paid_cash = 0 if cash is None else cash
    return ExportDocument(FN, fd, 3, {
        "code": 3, "operationType": operation, "shiftNumber": shift, "requestNumber": fd,
        "dateTime": when, "fiscalDocumentNumber": fd, "fiscalDriveNumber": FN,
        "fiscalSign": 3_000_000_000 + fd, "kktRegId": "0000000001002031",
        "totalSum": total, "cashTotalSum": paid_cash, "ecashTotalSum": total - paid_cash,
        "items": lines, "operator": "Иванова Мария"})
