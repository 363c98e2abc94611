"""Helpers of the shared-port tests."""

from __future__ import annotations

import threading
import time
from typing import Any

from kkt_bridge.driverapi import exchange_rules_of, get_driver
from kkt_bridge.share import SharedKkt
from kkt_bridge.share.rules import ExchangeRules

#: the drivers that declare exchange rules: the driver-neutral tests run over each
SHARING_DRIVERS = ("shtrih", "atol")
#: the bridge's reader gives up after this long: a bound, never reached when things work
READ_BOUND = 120.0


def rules_of(driver: str) -> ExchangeRules:
    """The exchange rules ``driver`` declares (it must declare some)."""
    rules = exchange_rules_of(get_driver(driver))
    assert rules is not None, f"{driver} declares no exchange rules"
    return rules


def fill(emu: Any, documents: int) -> None:
    """Shifts of receipts until the archive holds at least ``documents`` documents (any
    driver's emulator: the emulation kit's register does the selling)."""
    sold = 0
    while len(emu.archive()) < documents:
        emu.open_shift()
        for _ in range(40):
            if len(emu.archive()) >= documents - 1:
                break
            sold += 1
            emu.sell([(f"Товар {sold}", 100 + sold, ("1", "1.5")[sold % 2]), ("Пакет", 500)])
        emu.close_shift()


class Reader(threading.Thread):
    """The bridge catching up: every document from 1 to the ФН's last, then the new ones,
    each in one turn of the owner, until told to stop and nothing is left.

    ``hold_at``: after that many documents the reader waits for :attr:`resume` before it
    reads on, so a test's sales are certain to meet a catch-up still under way, however the
    machine's load shares the time between the two sides (:attr:`started` tells when the
    first document is in)."""

    def __init__(self, kkt: SharedKkt, hold_at: int | None = None) -> None:
        super().__init__(daemon=True, name="backlog reader")
        self.kkt = kkt
        self.hold_at = hold_at
        self.read: list[tuple[int, bytes]] = []
        self.errors: list[BaseException] = []
        self.finish = threading.Event()
        self.started = threading.Event()
        self.resume = threading.Event()

    def _held(self) -> bool:
        return (self.hold_at is not None and len(self.read) >= self.hold_at
                and not self.resume.is_set())

    def run(self) -> None:
        give_up = time.monotonic() + READ_BOUND
        cursor = 0
        try:
            while time.monotonic() < give_up:
                if self._held():
                    self.resume.wait(give_up - time.monotonic())
                    continue
                last = self.kkt.fn_status().last_fd_number
                if cursor >= last:
                    if self.finish.is_set():
                        return
                    time.sleep(0.02)
                    continue
                for number, data in self.kkt.iter_documents(cursor + 1, last):
                    self.read.append((number, data))
                    self.started.set()
                    cursor = number
                    if self._held():
                        break
        except BaseException as exc:  # reported by the test, never swallowed
            self.errors.append(exc)


def assert_read_once(reader: Reader, emu: Any) -> None:
    """The reader met no error and read each document of the ФН once, in order, as stored."""
    assert not reader.errors, reader.errors
    archive = emu.archive()
    numbers = [number for number, _data in reader.read]
    assert numbers == list(range(1, len(archive) + 1)), "each document once, in order"
    for number, data in reader.read:
        assert data == archive[number - 1], f"document {number} read as stored"
