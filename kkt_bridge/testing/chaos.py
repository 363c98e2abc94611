"""A chaos run: receipts sold by a third-party client, then the bridge's daemon exporting
them over a damaged line to a failing back office while it is killed again and again.

:func:`run_chaos` sells ``documents`` receipts with pyshtrih (unmodified, from PyPI) over the
emulator's pty, pairs the bridge with the reference back office, turns on line faults
(``line_faults``, the emulator's spec) and back-office faults (``backoffice_faults``, its
spec: 5xx, 429 ...), and runs ``kkt-bridge run`` as a child process that is SIGKILLed after a
random 20-40 s (``kill_every``) and started again (after ``max_kills`` kills it is left to
finish; ``kill_on_progress`` kills it as soon as the back office got part of the backlog,
so that a short run still kills mid-export), until the back office holds every document of
the ФН or ``time_limit`` passes.
The back office's own records decide: what is missing (lost), stored more than once or
stored with other bytes than the ФН holds.

``tools/chaos.py`` is the command line for the long run; the test suite runs a short one.
Needs pyshtrih and the emulator (the ``test`` extra).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHOP = "Магазин на Ленина"


@dataclass
class ChaosResult:
    documents: int  # in the ФН when the run started (registration, shift, receipts)
    stored: int = 0
    lost: list[int] = field(default_factory=list)  # ФД numbers missing at the end
    duplicated: list[int] = field(default_factory=list)  # stored more than once
    altered: list[int] = field(default_factory=list)  # stored with other bytes
    kills: int = 0
    starts: int = 0
    exits: int = 0  # the daemon ended by itself (a crash): must stay 0
    drain_seconds: float | None = None  # None: not drained within the time limit
    line_faults: dict[str, int] = field(default_factory=dict)
    backoffice_faults: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.altered or self.exits) and \
            self.drain_seconds is not None

    def summary(self) -> dict[str, Any]:
        return {"documents": self.documents, "stored": self.stored, "lost": len(self.lost),
                "duplicated": len(self.duplicated), "altered": len(self.altered),
                "kills": self.kills, "bridge_starts": self.starts, "exits": self.exits,
                "drain_seconds": None if self.drain_seconds is None
                else round(self.drain_seconds, 1),
                "line_faults": self.line_faults, "backoffice_faults": self.backoffice_faults,
                "lost_fd": self.lost[:20], "duplicated_fd": self.duplicated[:20],
                "altered_fd": self.altered[:20]}


def bridge_command(*args: str) -> list[str]:
    """The ``kkt-bridge`` command line for a child process."""
    return [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()", *args]


def bridge_env(home: Path) -> dict[str, str]:
    return {**os.environ, "KKT_BRIDGE_HOME": str(home), "KKT_BRIDGE_LANG": "ru"}


def sell_with_pyshtrih(pty_path: str, receipts: int, *, rng: random.Random) -> None:
    """A shift and ``receipts`` receipts, as cash software on pyshtrih makes them."""
    import pyshtrih

    till = pyshtrih.ShtrihM01F(pty_path, 115200)
    till.connect()
    try:
        till.open_shift()
        till.wait_printing()
        for n in range(receipts):
            price = rng.randint(100, 500_000)
            till.open_check(0)
            till.sale((f"Товар {n % 97}", 1000, price))
            till.close_check(cash=price)
    finally:
        till.disconnect()


@contextmanager
def _started(emulator: Any, office: Any) -> Iterator[None]:
    try:
        yield
    finally:
        office.stop()
        emulator.stop()


def _check(result: ChaosResult, archive: list[bytes], office: Any) -> None:
    stored = office.documents()
    counts = Counter(d.fd_number for d in stored)
    by_fd = {d.fd_number: d for d in stored}
    result.stored = len(stored)
    result.lost = [n for n in range(1, len(archive) + 1) if n not in counts]
    result.duplicated = sorted(n for n, c in counts.items() if c > 1)
    result.altered = sorted(n for n, d in by_fd.items()
                            if 1 <= n <= len(archive) and d.raw != archive[n - 1])


def run_chaos(workdir: Path, *, documents: int = 1000, line_faults: str = "corrupt=0.001",
              backoffice_faults: str = "500:rate=0.1:seed=1,429:rate=0.1:seed=2:retry_after=1",
              kill_every: tuple[float, float] = (20.0, 40.0), time_limit: float = 3600.0,
              receipts_interval: int = 5, seed: int = 20261206, max_kills: int | None = None,
              kill_on_progress: bool = False,
              log: Callable[[str], None] = lambda line: None) -> ChaosResult:
    """The chaos run described in the module docstring; returns what the back office holds."""
    from kkt_bridge.bridge.pairing import pair
    from kkt_bridge.drivers.shtrih.emulator.api import Emulator
    from kkt_bridge.pluginmanager import get_plugin_manager
    from kkt_bridge.plugins.reference.server import ReferenceBackOffice
    from kkt_bridge.registers import open_register
    from kkt_bridge.store import ExchangeSettings, Store

    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "bridge-home"
    emulator = Emulator(pty=True, tcp=0, seed=seed).start()
    office = ReferenceBackOffice(workdir / "backoffice.sqlite3")
    office.seed_demo()
    office.serve_in_thread()
    with _started(emulator, office):
        assert emulator.pty_path and emulator.tcp_url
        log(f"selling {documents} receipts with pyshtrih on {emulator.pty_path}")
        sell_with_pyshtrih(emulator.pty_path, documents, rng=rng)
        archive = emulator.archive()
        result = ChaosResult(documents=len(archive))
        url = emulator.tcp_url
        store = Store(home / "kkt-bridge.sqlite3")
        try:
            kkt = open_register(url)
            try:
                pairing = pair(store, get_plugin_manager(), kkt, plugin="reference",
                               code=office.issue_sync_code(SHOP), endpoint=office.url,
                               device_url=url)
            finally:
                kkt.close()
            store.save_settings(pairing.register_key,
                                ExchangeSettings(receipts_interval=receipts_interval))
        finally:
            store.close()
        emulator.inject(line_faults)  # seeded by the emulator's seed
        office.set_faults(backoffice_faults or None)
        log(f"{len(archive)} documents in the ФН; line {line_faults!r}, "
            f"back office {backoffice_faults!r}")
        started = time.monotonic()
        bridge_log = (workdir / "bridge.log").open("ab")
        try:
            while time.monotonic() - started < time_limit:
                child = subprocess.Popen(
                    bridge_command("run", "--device", url, "--poll-interval", "1",
                                   "--hotplug", "off"),
                    env=bridge_env(home), stdout=bridge_log, stderr=bridge_log)
                result.starts += 1
                lifetime = rng.uniform(*kill_every)
                if max_kills is not None and result.kills >= max_kills:
                    lifetime = time_limit  # enough kills: let it drain
                until = min(time.monotonic() + lifetime, started + time_limit)
                before = office.count_documents()
                while time.monotonic() < until and child.poll() is None and \
                        office.count_documents() < len(archive):
                    if kill_on_progress and office.count_documents() > before and \
                            (max_kills is None or result.kills < max_kills):
                        break  # mid-export: the back office has part of the backlog
                    time.sleep(0.05)
                drained = office.count_documents() >= len(archive)
                if child.poll() is not None and not drained:
                    result.exits += 1  # the daemon must not end by itself
                    if result.exits > 3:
                        raise RuntimeError(f"kkt-bridge run ended by itself {result.exits} "
                                           f"times (exit {child.returncode}): see "
                                           f"{workdir / 'bridge.log'}")
                if child.poll() is None:
                    child.send_signal(signal.SIGKILL)
                    result.kills += not drained
                child.wait(timeout=30)
                log(f"t={time.monotonic() - started:.0f}s start #{result.starts}: "
                    f"{office.count_documents()}/{len(archive)} stored")
                if drained:
                    result.drain_seconds = time.monotonic() - started
                    break
        finally:
            bridge_log.close()
        result.line_faults = {k: v for k, v in emulator.fault_stats.items() if v}
        result.backoffice_faults = sum(int(rule["fired"]) for rule in office.faults.describe())
        emulator.clear_faults()
        office.set_faults(None)
        _check(result, archive, office)
        return result

