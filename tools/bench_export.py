#!/usr/bin/env python3
"""Export receipts to the reference back office over loopback, two ways, in one run:

1. batched: the ``reference`` plugin as the bridge uses it (up to 500 documents per request,
   one keep-alive connection);
2. one request per receipt, each on a new connection (``Connection: close``, no pool).

The server is ``kkt-bridge backoffice serve`` in a subprocess (so client and server do not
share a GIL), on a fresh SQLite file. Each way exports the same number of receipts to its own
register (new ФН, so nothing is a duplicate), after one warm-up request, and the back
office's own count is checked afterwards. The batched export takes well under a second, so
it runs ``--rounds`` times (each to a fresh register) and the median round is reported,
with the spread; the per-receipt export runs once.

    .venv/bin/python tools/bench_export.py [--count 10000] [--batch 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from kkt_bridge.exchange import Credentials, ExportDocument, RegisterIdentity
from kkt_bridge.pluginmanager import call_backoffice, get_plugin_manager
from kkt_bridge.plugins.reference.plugin import NAME, ReferencePlugin
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.testing.contract import sample_receipt

SHOP = "Магазин на Ленина"


@dataclass(frozen=True)
class Result:
    mode: str
    receipts: int
    requests: int
    seconds: float

    @property
    def receipts_per_second(self) -> float:
        return self.receipts / self.seconds

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds


def register(n: int) -> RegisterIdentity:
    return RegisterIdentity(serial=f"BENCH{n:011d}", fn_number=f"99990789{n:08d}",
                            model="ШТРИХ-М-01Ф", inn="7700000000", rnm=f"00000000010{n:05d}")


def receipts(reg: RegisterIdentity, count: int) -> list[ExportDocument]:
    # 1 to 5 items per receipt, like a small shop's day
    return [sample_receipt(reg.fn_number, fd, rnm=reg.rnm or "", items=1 + fd % 5)
            for fd in range(1, count + 1)]


def start_server(db: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kkt_bridge.cli.main", "backoffice", "serve", "--port", "0",
         "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(
        process.stdout.readline() if process.stdout else ""), daemon=True)
    reader.start()
    reader.join(30)
    if not line or not line[0].startswith("http"):
        process.kill()
        raise SystemExit("сервер бэк-офиса не запустился")
    return process, line[0].strip()


def pair(plugin: ReferencePlugin, url: str, office: ReferenceBackOffice,
         reg: RegisterIdentity) -> Credentials:
    credentials = plugin.backoffice_pair(NAME, url, office.issue_sync_code(SHOP), reg)
    assert credentials is not None
    return credentials


def run_batched(url: str, office: ReferenceBackOffice, docs: list[ExportDocument],
                reg: RegisterIdentity, batch: int) -> Result:
    plugin = ReferencePlugin(batch_size=batch, keepalive=True)
    pm = get_plugin_manager(load_entrypoints=False, plugins=[plugin])
    credentials = pair(plugin, url, office, reg)
    plugin.backoffice_check(NAME, credentials)  # warm-up: the connection and server threads
    before = plugin.requests
    started = time.perf_counter()
    acks = call_backoffice(pm, "backoffice_export_documents", backoffice=NAME,
                           credentials=credentials, documents=docs)
    seconds = time.perf_counter() - started
    assert all(a.accepted and not a.duplicate for a in acks)
    plugin.close()
    return Result("batched+keep-alive", len(docs), plugin.requests - before, seconds)


def run_single(url: str, office: ReferenceBackOffice, docs: list[ExportDocument],
               reg: RegisterIdentity) -> Result:
    plugin = ReferencePlugin(batch_size=1, keepalive=False)
    pm = get_plugin_manager(load_entrypoints=False, plugins=[plugin])
    credentials = pair(plugin, url, office, reg)
    plugin.backoffice_check(NAME, credentials)  # the same warm-up as the batched run
    before = plugin.requests
    started = time.perf_counter()
    for doc in docs:
        [ack] = call_backoffice(pm, "backoffice_export_documents", backoffice=NAME,
                                credentials=credentials, documents=[doc])
        assert ack.accepted and not ack.duplicate
    seconds = time.perf_counter() - started
    plugin.close()
    return Result("per-receipt, new connection", len(docs), plugin.requests - before, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="batched rounds (median)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        office = ReferenceBackOffice(db)  # the same file the server process serves
        process, url = start_server(db)
        try:
            rounds = []
            for n in range(1, args.rounds + 1):
                reg = register(n)
                rounds.append(run_batched(url, office, receipts(reg, args.count), reg,
                                          args.batch))
            single_reg = register(args.rounds + 1)
            single = run_single(url, office, receipts(single_reg, args.count), single_reg)
            stored = [office.count_documents(register(n).fn_number)
                      for n in range(1, args.rounds + 2)]
        finally:
            process.terminate()
            process.wait(30)
            office.stop()
    assert stored == [args.count] * (args.rounds + 1), f"back office holds {stored}"
    rounds.sort(key=lambda r: r.seconds)
    batched = rounds[len(rounds) // 2]
    speedup = single.seconds / batched.seconds
    if args.json:
        print(json.dumps({"results": [{**asdict(r), "receipts_per_second": r.receipts_per_second,
                                       "requests_per_second": r.requests_per_second}
                                      for r in (batched, single)], "speedup": speedup,
                          "batched_rounds": [r.receipts_per_second for r in rounds]}))
    else:
        for r in (batched, single):
            print(f"{r.mode:30} {r.receipts:6d} receipts {r.requests:6d} requests "
                  f"{r.seconds:8.2f} s  {r.receipts_per_second:9.0f} receipts/s "
                  f"{r.requests_per_second:8.1f} requests/s")
        spread = ", ".join(f"{r.receipts_per_second:.0f}" for r in rounds)
        print(f"batched rounds (receipts/s, the median is shown above): {spread}")
        print(f"speed-up of batching + keep-alive: {speedup:.1f}x (required: >= 20x); "
              f"back office count per register: {stored}")
    if speedup < 20:
        sys.exit(1)


if __name__ == "__main__":
    main()
