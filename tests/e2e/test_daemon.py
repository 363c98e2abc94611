"""``kkt-bridge run`` as a process: exports as documents appear, logs JSON, stops on
SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import child_env, cli_command, open_home_store, pair_with_office, wait_for

from kkt_bridge.bridge.settings import apply_settings
from kkt_bridge.store import ExchangeSettings

pytestmark = pytest.mark.slow


def test_run_exports_new_documents_and_stops_on_sigterm(
        kkt_emulator_factory: Callable[..., Any], office: Any, home: Path) -> None:
    emu = kkt_emulator_factory(pty=False, tcp=0)
    url = emu.tcp_url
    store = open_home_store(home)
    pairing = pair_with_office(store, url, office)
    apply_settings(store, pairing.register_key, ExchangeSettings(receipts_interval=5))
    store.close()
    # DEBUG: the most a log ever says, and still no token in it
    daemon = subprocess.Popen(cli_command("run", "--log-format", "json", "--log-level", "DEBUG",
                                          "--poll-interval", "0.2", "--port", "0"),
                              env=child_env(home), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: office.count_documents() == len(emu.archive()), 60)
        for price in (100, 200, 300):
            emu.sell([("Хлеб", price)])
        assert wait_for(lambda: office.count_documents() == len(emu.archive()), 60)
    finally:
        daemon.send_signal(signal.SIGTERM)
        stdout, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, stderr[-3000:]
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert any(r["message"] == "bridge stopped" for r in records)
    assert any(r.get("level") == "debug" for r in records), records[:5]  # DEBUG did log
    assert pairing.credentials.token not in stderr + stdout
    # the store and its journal files hold the token: private to the user
    for file in home.iterdir():
        if file.is_file():
            assert file.stat().st_mode & 0o077 == 0, file
    assert home.stat().st_mode & 0o077 == 0
