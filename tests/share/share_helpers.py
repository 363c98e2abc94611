"""Helpers of the shared-port tests."""

from __future__ import annotations

from kkt_bridge.drivers.shtrih.emulator.api import Emulator


def fill(emu: Emulator, documents: int) -> None:
    """Shifts of receipts until the archive holds at least ``documents`` documents."""
    sold = 0
    while len(emu.archive()) < documents:
        emu.open_shift()
        for _ in range(40):
            if len(emu.archive()) >= documents - 1:
                break
            sold += 1
            emu.sell([(f"Товар {sold}", 100 + sold, ("1", "1.5")[sold % 2]), ("Пакет", 500)])
        emu.close_shift()
