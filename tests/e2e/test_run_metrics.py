"""``kkt-bridge run --metrics-port 0 --metrics-file PATH`` as a process: /metrics answers
on 127.0.0.1 and the textfile follows every round; the log is JSON at the chosen level."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
from e2e_helpers import child_env, cli_command, open_home_store, pair_with_office, wait_for

pytestmark = pytest.mark.slow


def read_lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def test_run_serves_and_writes_metrics(kkt_emulator_factory: Callable[..., Any], office: Any,
                                       home: Path, tmp_path: Path) -> None:
    emu = kkt_emulator_factory(pty=False, tcp=0)
    url = emu.tcp_url
    with open_home_store(home) as store:
        pairing = pair_with_office(store, url, office)
    key = pairing.register_key
    textfile = tmp_path / "node-exporter" / "kkt_bridge.prom"
    daemon = subprocess.Popen(
        cli_command("run", "--log-format", "json", "--log-level", "debug",
                    "--poll-interval", "0.2", "--port", "0", "--metrics-port", "0",
                    "--metrics-file", str(textfile)),
        env=child_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert daemon.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(daemon.stderr, lines), daemon=True)
    reader.start()
    seen: list[dict[str, Any]] = []
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            try:
                record = json.loads(lines.get(timeout=1))
            except queue.Empty:
                continue
            seen.append(record)
            found = re.search(r"127\.0\.0\.1:(\d+)/metrics", record["message"])
            port = int(found.group(1)) if found else None
        assert port is not None, seen
        archive = len(emu.archive())
        exported = f'kkt_bridge_documents_exported_total{{register="{key}"}} {archive}'
        assert wait_for(lambda: textfile.exists() and exported in textfile.read_text(), 60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            body = answer.read().decode()
        assert exported in body
        assert f'kkt_bridge_documents_unsent{{register="{key}"}} 0' in body
        assert 'job="documents"' in body and "kkt_bridge_last_success_timestamp_seconds" in body
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        reader.join(timeout=10)
    assert daemon.returncode == 0
    while not lines.empty():
        seen.append(json.loads(lines.get_nowait()))
    assert any(r["level"] == "debug" for r in seen)  # --log-level took effect
    assert {"time", "level", "logger", "message"} <= set(seen[0])
    assert pairing.credentials.token not in json.dumps(seen, ensure_ascii=False)
    assert oct(textfile.stat().st_mode & 0o777) == "0o644"
