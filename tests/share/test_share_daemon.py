"""End to end: the daemon behind the shared port. pyshtrih sells a day through the shared pty
while the daemon catches up the backlog; every document reaches the reference back office
exactly once, and the day's documents go out because the sales passed through the shared
port (the receipts period is far away), not because a poll came round."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from share_helpers import fill

from kkt_bridge.bridge.daemon import Daemon
from kkt_bridge.bridge.pairing import pair
from kkt_bridge.bridge.settings import RECEIPTS_INTERVAL_MAX
from kkt_bridge.cli.run import ShareOptions, shared_link_change, start_shared_ports
from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.registers import open_register
from kkt_bridge.share.service import published
from kkt_bridge.store import Store

pyshtrih = pytest.importorskip("pyshtrih")

pytestmark = pytest.mark.slow

SHOP = "Магазин на Ленина"
BACKLOG = 80
#: every wait below is bounded; none is reached when things work
BOUND = 60.0


@pytest.fixture
def office(tmp_path: Path) -> Iterator[ReferenceBackOffice]:
    bo = ReferenceBackOffice(tmp_path / "backoffice.sqlite3")
    bo.seed_demo()
    bo.serve_in_thread()
    yield bo
    bo.stop()


def wait_for(condition: Callable[[], bool], seconds: float = BOUND) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def keys(office: Any) -> Counter[tuple[str, int]]:
    return Counter((d.fn_number, d.fd_number) for d in office.documents())


@pytest.mark.parametrize("faults", ["", "nak=0.02"], ids=["clean", "nak"])
def test_sales_through_the_shared_port_are_exported_at_once_and_exactly_once(
        kkt_emulator_factory: Callable[..., Emulator], office: Any, tmp_path: Path,
        faults: str) -> None:
    # a real line's pace: the catch-up lasts seconds, and the day is sold meanwhile
    emu = kkt_emulator_factory(tcp=None, seed=5, baud=115200)
    fill(emu, BACKLOG)
    url = emu.pty_path or ""
    home = tmp_path / "home"
    home.mkdir()
    store = Store(home / "kkt-bridge.sqlite3")
    kkt = open_register(url)
    try:
        key = pair(store, get_plugin_manager(), kkt, plugin="reference",
                   code=office.issue_sync_code(SHOP), endpoint=office.url,
                   device_url=url).register_key
    finally:
        kkt.close()
    # the receipts check comes round once a day: only the sales themselves can export
    store.save_settings(key, replace(store.get_settings(key),
                                     receipts_interval=RECEIPTS_INTERVAL_MAX))
    if faults:
        emu.inject(faults)

    shares = start_shared_ports(ShareOptions(tcp=0), [url], home)
    daemon = Daemon(store, get_plugin_manager(), [url],
                    opener=shares.opener(open_register, add=True), poll_interval=600,
                    hotplug="off", on_link_change=shared_link_change(shares))
    shares.on_document = lambda device, _done: daemon.export_soon(device)
    worker = threading.Thread(target=daemon.run, daemon=True)
    worker.start()
    try:
        [info] = published(home, url)
        # the first batch of the catch-up is in: its run will not see the day's documents
        assert wait_for(lambda: office.count_documents() > 0)
        till = pyshtrih.ShtrihM01F(info.path, 115200)
        till.connect()
        try:
            exported_before_the_day = office.count_documents()
            till.open_shift()
            till.wait_printing()
            till.sale(("Хлеб", 1000, 4990))
            till.close_check(cash=5000)
            till.open_check(2)
            till.return_sale(("Хлеб", 1000, 4990))
            till.close_check(cash=4990)
            till.z_report()
            till.wait_printing()
        finally:
            till.disconnect()
        archive = len(emu.archive())
        assert wait_for(lambda: office.count_documents() >= archive), (
            f"{office.count_documents()} of {archive} exported")
    finally:
        daemon.stop()
        worker.join(BOUND)
        shares.close()
        store.close()
    assert exported_before_the_day < BACKLOG, "the day began during the catch-up"
    found = keys(office)
    assert sorted(fd for _fn, fd in found) == list(range(1, archive + 1))
    assert max(found.values()) == 1
    assert published(home) == [], "the daemon's shared ports are gone with it"
