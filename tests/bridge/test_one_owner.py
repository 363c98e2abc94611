"""The daemon is the one owner of a register: the API (as the page and cash software use it),
the CLI and the daemon's own jobs, all at once, on one register behind a slow line with
damaged frames. None of them is ever told the register is busy, and the connect prompt
reaches the event stream once, and goes away once the register is paired."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from kkt_bridge.bridge.actions import BackOfficePreset
from kkt_bridge.bridge.daemon import Daemon
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.store import Store
from kkt_bridge.web.context import WebContext
from kkt_bridge.web.instance import DaemonInstance
from kkt_bridge.web.security import Security, load_or_create_secret
from kkt_bridge.web.server import LocalServer

pytestmark = pytest.mark.slow

SHOP = "Магазин на Ленина"
PROGRAM = [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()"]


class Served:
    def __init__(self, home: Path, url: str, office_url: str) -> None:
        self.home = home
        self.store = Store(home / "kkt-bridge.sqlite3")
        self.instance = DaemonInstance(home)
        self.daemon = Daemon(self.store, get_plugin_manager(), [url], hotplug="off",
                             poll_interval=0.1,
                             preset=BackOfficePreset("reference", office_url))
        secret = load_or_create_secret(home)
        self.context = WebContext(actions=self.daemon.actions, security=Security(secret),
                                  bus=self.daemon.bus, urls=lambda: self.daemon.urls,
                                  registry=self.daemon.metrics.registry)
        self.server = LocalServer(self.context, port=0)
        self.base = self.server.start()
        self.instance.publish(self.base)
        self.http = httpx.Client(base_url=self.base, timeout=httpx.Timeout(10, read=300),
                                 headers={"Authorization": f"Bearer {secret}"})
        self.thread = threading.Thread(target=self.daemon.run, daemon=True)
        self.thread.start()
        self.events: list[tuple[str, dict[str, Any]]] = []
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        kind = ""
        try:
            with self.http.stream("GET", "/api/events") as stream:
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:])
                        self.events.append((kind, data if isinstance(data, dict)
                                            else {"items": data}))
        except httpx.HTTPError:
            return  # the server stopped

    def close(self) -> None:
        self.daemon.stop()
        self.thread.join(60)
        self.server.stop()
        self.http.close()
        self.store.close()
        self.instance.release()


@pytest.fixture
def served(tmp_path: Path, kkt_emulator_factory: Callable[..., Any]) -> Iterator[
        tuple[Served, Any, ReferenceBackOffice]]:
    emu = kkt_emulator_factory(pty=False, tcp=0, registered=False, latency_ms=15,
                               faults="corrupt=0.01,nak=0.01", seed=11)
    office = ReferenceBackOffice(tmp_path / "backoffice.sqlite3")
    office.seed_demo()
    office.serve_in_thread()
    running = Served(tmp_path / "home", emu.tcp_url, office.url)
    try:
        yield running, emu, office
    finally:
        running.close()
        office.stop()


def _wait(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_api_cli_and_jobs_at_once_never_busy_and_the_prompt_once(
        served: tuple[Served, Any, ReferenceBackOffice]) -> None:
    bridge, emu, office = served
    assert _wait(lambda: any(kind == "prompts" for kind, _d in bridge.events))
    # the daemon has seen the register unregistered before the cash software registers it
    assert _wait(lambda: bridge.daemon.watcher.last(bridge.daemon.urls[0]) is not None)
    emu.register()  # the cash software fiscalises the register: the prompt is due
    assert _wait(lambda: any(kind == "prompt" for kind, _d in bridge.events)), bridge.events
    (prompt,) = [d for kind, d in bridge.events if kind == "prompt"]
    assert prompt["reason"] == "registered" and prompt["url"] == bridge.daemon.urls[0]
    key = prompt["register_key"]
    env = {**os.environ, "KKT_BRIDGE_HOME": str(bridge.home), "KKT_BRIDGE_LANG": "ru"}

    def api_status() -> list[str]:
        answers = []
        for _round in range(6):
            response = bridge.http.get("/api/status", params={"device": bridge.daemon.urls[0],
                                                              "fresh": True})
            answers.append(f"{response.status_code} {response.text}")
        return answers

    def cli_status() -> list[str]:
        done = subprocess.run([*PROGRAM, "status", "--device", bridge.daemon.urls[0]],
                              capture_output=True, text=True, env=env, timeout=300)
        return [f"{done.returncode} {done.stdout}{done.stderr}"]

    def pair_and_sync() -> list[str]:
        answers = []
        connected = bridge.http.post("/api/connect", json={
            "device_url": bridge.daemon.urls[0], "code": office.issue_sync_code(SHOP)})
        answers.append(f"{connected.status_code} {connected.text}")
        for _round in range(2):
            emu.sell([("Хлеб", 4990)])
            synced = bridge.http.post("/api/sync", json={"register_key": key})
            answers.append(f"{synced.status_code} {synced.text}")
        return answers

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(api_status), pool.submit(api_status), pool.submit(cli_status),
                   pool.submit(cli_status), pool.submit(pair_and_sync)]
        answers = [answer for future in futures for answer in future.result(timeout=600)]
    assert not [a for a in answers if "занята" in a], answers
    assert all(a.startswith(("200 ", "0 ")) for a in answers), answers
    # what the daemon's own jobs did meanwhile: every document reached the back office
    assert _wait(lambda: office.count_documents() == len(emu.archive()), 120)
    kinds = [kind for kind, data in bridge.events if data.get("register_key") == key]
    assert kinds.count("prompt") == 1 and kinds.count("prompt_resolved") == 1, kinds
    assert bridge.daemon.board.current() == []
    assert sum(emu.fault_stats.values()) > 0, emu.fault_stats  # the line really was damaged
