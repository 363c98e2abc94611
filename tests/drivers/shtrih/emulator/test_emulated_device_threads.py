"""The device is shared by the link threads and the test: one command at a time."""

from __future__ import annotations

import threading
from datetime import datetime

from emulated_device_helpers import CASHIER, SYSADMIN, cmd, device, ok

from kkt_bridge.emulation.clock import ManualClock, SystemClock
from kkt_bridge.fiscal import parse_document


def test_concurrent_sales_and_polling_keep_the_archive_whole() -> None:
    dev = device()
    dev.open_shift()
    stop = threading.Event()
    seen: list[int] = []

    def poll() -> None:
        while not stop.is_set():
            status = ok(dev, cmd(0x10), password=CASHIER)
            seen.append(status.submode)
            ok(dev, cmd(0xFF01), password=SYSADMIN)

    def sell() -> None:
        for _ in range(15):
            dev.sell([("Хлеб", 4500), ("Соль", 1500)])

    poller = threading.Thread(target=poll)
    sellers = [threading.Thread(target=sell) for _ in range(3)]
    poller.start()
    for thread in sellers:
        thread.start()
    for thread in sellers:
        thread.join(timeout=60)
    stop.set()
    poller.join(timeout=60)
    assert seen and set(seen) == {0}
    documents = dev.archive()
    assert len(documents) == 2 + 45
    assert [dict(parse_document(d)[1])[1040] for d in documents] == list(range(1, 48))
    assert ok(dev, cmd(0xFF40), password=SYSADMIN).receipt_number == 45
    assert dev.internal_errors == []


def test_clocks() -> None:
    clock = ManualClock(datetime(2026, 5, 1, 23, 59, 59, 999))
    assert clock.now() == datetime(2026, 5, 1, 23, 59, 59)
    clock.set(datetime(2027, 1, 1))
    assert clock.now().year == 2027
    now = SystemClock().now()
    assert now.tzinfo is None and now.microsecond == 0
