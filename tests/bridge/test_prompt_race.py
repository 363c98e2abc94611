"""The connect prompt of ``kkt-bridge run --plugin`` on a terminal, with a slow TCP link.

The terminal dialogue used to take the link lock without waiting while the watcher's worker
held it for its next poll: with 10-150 ms of latency per answer the worker holds the lock
most of the time, and ``run`` exited with «ККТ … занята другим заданием» at the moment the
prompt should have appeared. The dialogue must queue behind the worker instead.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kkt_bridge.plugins.reference.server import ReferenceBackOffice

pytestmark = pytest.mark.slow

SHOP = "Магазин на Ленина"
ROUNDS = 3


class Terminal:
    """A child process on a pseudo-terminal, read with a deadline."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        start_new_session=True)
        os.close(slave)
        self.output = ""

    def expect(self, text: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while text not in self.output and time.monotonic() < deadline:
            ready, _w, _x = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    break
                self.output += chunk.decode("utf-8", "replace")
            elif self.process.poll() is not None:
                break
        return text in self.output

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        finally:
            os.close(self.master)
        return code


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_terminal_prompt_pairs_while_the_worker_polls_a_slow_link(
        round_: int, kkt_emulator_factory: Callable[..., Any], tmp_path: Path) -> None:
    emu = kkt_emulator_factory(pty=False, tcp=0, latency_ms=[10, 60, 150][round_ % 3])
    office = ReferenceBackOffice(tmp_path / "backoffice.sqlite3")
    office.seed_demo()
    office.serve_in_thread()
    home = tmp_path / "home"
    env = {**os.environ, "KKT_BRIDGE_HOME": str(home), "KKT_BRIDGE_LANG": "ru",
           "COLUMNS": "200"}
    terminal = Terminal([sys.executable, "-c",
                         "from kkt_bridge.cli.main import main; main()", "run",
                         "--device", emu.tcp_url, "--plugin", "reference",
                         "--backoffice", office.url, "--poll-interval", "0.1",
                         "--hotplug", "off", "--port", "0"], env)
    try:
        assert terminal.expect("Введите код синхронизации", 60), terminal.output[-2000:]
        terminal.type(office.issue_sync_code(SHOP))
        assert terminal.expect("Соединение установлено", 60), terminal.output[-2000:]
        # still serving: the export of the receipts starts without a restart (the first
        # one is proof enough; reading the whole archive at 150 ms an answer took a minute,
        # and exactly-once export has its own tests)
        deadline = time.monotonic() + 60
        while office.count_documents() < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert office.count_documents() >= 1
        assert terminal.process.poll() is None, terminal.output[-2000:]
    finally:
        code = terminal.close()
        office.stop()
    assert "занята" not in terminal.output
    assert code == 0, terminal.output[-2000:]


