"""A running daemon over an emulated register and the reference back office, with its local
API in front of it: what the API tests share."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from kkt_bridge.bridge.actions import BackOfficePreset
from kkt_bridge.bridge.daemon import Daemon
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.store import Store
from kkt_bridge.web.app import create_app
from kkt_bridge.web.context import WebContext
from kkt_bridge.web.security import Security

SECRET = "test-secret-value-0123456789"
PORT = 8765  # only a name in the Host header: the TestClient opens no port
BASE = f"http://127.0.0.1:{PORT}"
AUTH = {"Authorization": f"Bearer {SECRET}"}
SHOP = "Магазин на Ленина"


@dataclass
class Bridge:
    daemon: Daemon
    store: Store
    context: WebContext
    client: TestClient
    url: str

    def wait(self, condition: Callable[[], bool], seconds: float = 30.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return condition()

    def prompt_key(self) -> str:
        assert self.wait(lambda: bool(self.daemon.board.current())), "no connect prompt"
        return self.daemon.board.current()[0].register_key


@contextmanager
def running_bridge(home: Path, device_url: str, office_url: str | None, *,
                   poll_interval: float = 0.2) -> Iterator[Bridge]:
    """``kkt-bridge run`` in this process: the daemon's workers in threads, the API in a
    TestClient (the server itself is tested over a real socket elsewhere)."""
    store = Store(home / "kkt-bridge.sqlite3")
    daemon = Daemon(store, get_plugin_manager(), [device_url], hotplug="off",
                    poll_interval=poll_interval,
                    preset=BackOfficePreset("reference", office_url) if office_url else None)
    security = Security(SECRET)
    security.bind(PORT)
    context = WebContext(actions=daemon.actions, security=security, bus=daemon.bus,
                         urls=lambda: daemon.urls, registry=daemon.metrics.registry,
                         base_url=BASE)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        with TestClient(create_app(context), base_url=BASE) as client:
            yield Bridge(daemon, store, context, client, device_url)
    finally:
        context.stopping.set()
        daemon.stop()
        thread.join(30)
        store.close()


def error_kind(response: Any) -> str:
    body = response.json()
    assert set(body) >= {"message", "hint", "kind"}, body
    assert body["message"], body
    return str(body["kind"])
