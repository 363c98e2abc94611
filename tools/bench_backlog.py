#!/usr/bin/env python3
"""Benchmark: export a backlog of fiscal documents from the emulator to the reference
back office, as ``kkt-bridge sync now`` would.

For each backlog size the emulator's ФН is filled with receipts, a fresh bridge home is
paired with a fresh reference back office, and a child process runs the export job alone
(so its memory is the bridge's, not the emulator's or the back office's). Reported per size:
documents per second, the share of the time spent on the link (the driver's calls:
``fn_status``, ``iter_documents``, ``read_document``), the child's peak RSS and, with
``--tracemalloc``, the peak of the Python heap during the export (a second, separate run:
tracemalloc slows Python down, so it is kept out of the timing run).

    python tools/bench_backlog.py                       # 2,000 and 10,000 documents
    python tools/bench_backlog.py --sizes 500 --tracemalloc
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SHOP = "Магазин на Ленина"


class TimedKkt:
    """A register whose link calls are timed (the rest passes straight through)."""

    def __init__(self, kkt: Any) -> None:
        self._kkt = kkt
        self.link_seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kkt, name)

    def _timed(self, name: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self._kkt, name)(*args)
        finally:
            self.link_seconds += time.perf_counter() - start

    def fn_status(self) -> Any:
        return self._timed("fn_status")

    def identity(self) -> Any:
        return self._timed("identity")

    def read_document(self, fd_number: int) -> bytes:
        data: bytes = self._timed("read_document", fd_number)
        return data

    def iter_documents(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        iterator = iter(self._kkt.iter_documents(first, last))
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self.link_seconds += time.perf_counter() - start
                return
            self.link_seconds += time.perf_counter() - start
            yield item


def peak_rss_kib() -> int:
    """This process's peak RSS. ``VmHWM`` starts afresh at exec; ``ru_maxrss`` would carry
    the parent's (the emulator's and back office's) peak over the fork."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(home: Path, url: str, batch: int, trace: bool) -> None:
    """Run the export job once and print the figures as one JSON line."""
    import tracemalloc

    from kkt_bridge.bridge.scheduler import RegisterLink, Scheduler
    from kkt_bridge.pluginmanager import get_plugin_manager
    from kkt_bridge.registers import open_register
    from kkt_bridge.store import open_store

    store = open_store(home)
    pm = get_plugin_manager()
    key = store.pairings()[0].register_key
    timed: list[TimedKkt] = []

    def opener(device: str) -> Any:
        timed.append(TimedKkt(open_register(device)))
        return timed[-1]

    scheduler = Scheduler(store, pm, rng=random.Random(1), batch_size=batch)
    link = RegisterLink(url, opener, home / "locks")
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    outcome = scheduler.run_job(link, key, "documents")
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    link.drop()
    print(json.dumps({
        "ok": outcome.ok, "error": outcome.error, "exported": outcome.summary.get("exported"),
        "seconds": seconds, "link_seconds": sum(t.link_seconds for t in timed),
        "maxrss_kib": peak_rss_kib(),
        "tracemalloc_peak": peak,
    }))


def run_size(size: int, batch: int, trace: bool) -> list[dict[str, Any]]:
    from kkt_bridge.bridge.pairing import pair
    from kkt_bridge.drivers.shtrih.emulator.api import Emulator
    from kkt_bridge.emulation.clock import ManualClock
    from kkt_bridge.pluginmanager import get_plugin_manager
    from kkt_bridge.plugins.reference.server import ReferenceBackOffice
    from kkt_bridge.registers import open_register
    from kkt_bridge.store import open_store

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, \
            Emulator(pty=False, tcp=0, clock=ManualClock()) as emu:
        fill = time.perf_counter()
        while len(emu.archive()) < size:
            emu.sell([("Хлеб", 4990)])
        print(f"  {size} documents in the ФН ({time.perf_counter() - fill:.1f} s to make)",
              file=sys.stderr)
        url = emu.tcp_url
        assert url is not None
        for run, traced in enumerate([False, True] if trace else [False]):
            home = Path(tmp) / f"home{run}"
            with ReferenceBackOffice(Path(tmp) / f"bo{run}.sqlite3") as office:
                office.serve_in_thread()
                store = open_store(home)
                kkt = open_register(url)
                try:
                    pair(store, get_plugin_manager(), kkt, plugin="reference",
                         code=office.issue_sync_code(SHOP), endpoint=office.url,
                         device_url=url)
                finally:
                    kkt.close()
                    store.close()
                args = [sys.executable, __file__, "--child", "--home", str(home), "--url", url,
                        "--batch", str(batch)] + (["--tracemalloc"] if traced else [])
                done = subprocess.run(args, capture_output=True, text=True, check=False)
                if done.returncode:
                    raise SystemExit(done.stderr)
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                figures["backoffice_count"] = office.count_documents()
                figures["size"] = size
                figures["traced"] = traced
                results.append(figures)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.home, args.url, args.batch, args.tracemalloc)
        return
    os.environ.pop("KKT_BRIDGE_HOME", None)
    print(f"{'backlog':>8} {'docs/s':>8} {'link %':>7} {'peak RSS MiB':>13} "
          f"{'heap peak MiB':>14} {'in back office':>15}")
    for size in args.sizes:
        rows = run_size(size, args.batch, args.tracemalloc)
        timing = rows[0]
        if not timing["ok"]:
            raise SystemExit(f"export failed: {timing['error']}")
        heap = next((r["tracemalloc_peak"] for r in rows if r["traced"]), None)
        print(f"{size:>8} {timing['exported'] / timing['seconds']:>8.1f} "
              f"{100 * timing['link_seconds'] / timing['seconds']:>6.1f}% "
              f"{timing['maxrss_kib'] / 1024:>13.1f} "
              f"{'-' if heap is None else f'{heap / 2**20:.2f}':>14} "
              f"{timing['backoffice_count']:>15}", flush=True)


if __name__ == "__main__":
    main()
