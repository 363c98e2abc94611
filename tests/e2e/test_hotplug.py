"""Hot-plug end to end: the emulated register behind a udev-style symlink is unplugged
(the symlink and the port vanish), sells offline, is plugged back, and every document
reaches the reference back office exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import open_home_store, pair_with_office, wait_for

from kkt_bridge.bridge.daemon import Daemon
from kkt_bridge.metrics import Metrics
from kkt_bridge.pluginmanager import get_plugin_manager

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Port:
    device: str


def test_unplugged_register_resumes_exactly_once(
        kkt_emulator_factory: Callable[..., Any], office: Any, home: Path,
        tmp_path: Path) -> None:
    emu = kkt_emulator_factory(pty=True, tcp=None)
    link = tmp_path / "dev" / "kkt" / "shtrih-emulated"
    link.parent.mkdir(parents=True)
    link.symlink_to(emu.pty_path)
    ports: list[Port] = [Port(emu.pty_path)]
    url = str(link)

    store = open_home_store(home)
    key = pair_with_office(store, url, office).register_key
    metrics = Metrics()
    daemon = Daemon(store, get_plugin_manager(), [url], poll_interval=0.2, hotplug="poll",
                    hotplug_interval=0.05, list_ports=lambda: list(ports), metrics=metrics)
    worker = threading.Thread(target=daemon.run)
    worker.start()
    try:
        assert wait_for(lambda: office.count_documents() == len(emu.archive()), 60)
        before = office.count_documents()

        link.unlink()  # udev removes the symlink, the kernel the node
        ports.clear()
        assert wait_for(lambda: any(e.kind == "unplugged" for e in store.events(key)), 30)
        for price in (100, 200, 300):
            emu.sell([("Хлеб", price)])
        assert office.count_documents() == before  # nothing can leave while unplugged

        link.symlink_to(emu.pty_path)
        ports.append(Port(emu.pty_path))
        assert wait_for(lambda: office.count_documents() == len(emu.archive()), 60)
    finally:
        daemon.stop()
        worker.join(timeout=60)
        store.close()
    assert not worker.is_alive()
    archive = len(emu.archive())
    keys = Counter((d.fn_number, d.fd_number) for d in office.documents())
    assert sorted(fd for _, fd in keys) == list(range(1, archive + 1))
    assert max(keys.values()) == 1
    with open_home_store(home) as db:
        kinds = [e.kind for e in db.events(key) if e.kind in ("plugged", "unplugged")]
    assert kinds == ["unplugged", "plugged"]
    assert metrics.get("kkt_bridge_hotplug_events_total", device=url, action="added") == 1
