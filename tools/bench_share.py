#!/usr/bin/env python3
"""How much latency does the shared port add to a cash-software command?

An emulated register on a pty paced at ``--baud`` (8N1) gets an archive of ``--documents``
documents. A "cash program" (the project's Shtrih driver, a lean client) sends ``--commands``
short status requests (0x10), a few milliseconds apart as a till does:

1. straight to the register's pty (the baseline);
2. through the shared pty of a :class:`kkt_bridge.share.LinkOwner`, the bridge idle;
3. through the shared pty while the bridge catches up the backlog: FF3A + FF3B per document,
   one owner turn per document, back to back.

It prints p50 and p99 of each, what the bridge adds (shared minus direct, per percentile),
the time of one document read (p50, p99), and the target: the added p99 during the
catch-up below one document read (p99) + 20 ms.

Run: ``.venv/bin/python tools/bench_share.py [--documents 300] [--commands 300] [--baud 115200]``
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.drivers.shtrih.exchange import ShtrihExchangeRules
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.registers import open_register
from kkt_bridge.share import LinkOwner, SharedPort

#: the margin the issue allows on top of one document read
MARGIN = 0.020


def fill(emu: Emulator, documents: int) -> None:
    sold = 0
    while len(emu.archive()) < documents:
        emu.open_shift()
        for _ in range(50):
            if len(emu.archive()) >= documents - 1:
                break
            sold += 1
            emu.sell([(f"Товар {sold}", 100 + sold, ("1", "1.5", "0.25")[sold % 3]),
                      ("Пакет", 500)])
        emu.close_shift()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def till(url: str, commands: int, gap: tuple[float, float], rng: random.Random) -> list[float]:
    """Latencies of ``commands`` short status requests, ``gap`` seconds apart."""
    kkt: Any = open_register(url)
    try:
        kkt.short_status()  # the first command pays for opening the port
        latencies = []
        for _ in range(commands):
            time.sleep(rng.uniform(*gap))
            started = time.perf_counter()
            kkt.short_status()
            latencies.append(time.perf_counter() - started)
        return latencies
    finally:
        kkt.close()


class CatchUp(threading.Thread):
    """The bridge reading the backlog, document after document, round and round."""

    def __init__(self, owner: LinkOwner, last: int) -> None:
        super().__init__(daemon=True)
        self.kkt = owner.kkt()
        self.last = last
        self.stop = threading.Event()
        self.reads: list[float] = []

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            number = number % self.last + 1
            started = time.perf_counter()
            self.kkt.read_document(number)
            self.reads.append(time.perf_counter() - started)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def row(name: str, latencies: list[float], base: list[float] | None = None) -> str:
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    line = f"{name:<24} p50 {ms(p50)}   p99 {ms(p99)}"
    if base is not None:
        line += (f"   added p50 {ms(p50 - percentile(base, 0.5))}"
                 f"   added p99 {ms(p99 - percentile(base, 0.99))}")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--gap-ms", type=float, nargs=2, default=(2.0, 10.0),
                        metavar=("MIN", "MAX"), help="pause between two commands of the till")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    gap = (args.gap_ms[0] / 1000, args.gap_ms[1] / 1000)

    with Emulator(pty=True, tcp=None, baud=args.baud, clock=ManualClock()) as emu:
        fill(emu, args.documents)
        last = len(emu.archive())
        assert emu.pty_path
        print(f"register: emulated, {args.baud} baud, {last} documents; "
              f"till: {args.commands} x 0x10, {args.gap_ms[0]:g}-{args.gap_ms[1]:g} ms apart")
        direct = till(emu.pty_path, args.commands, gap, random.Random(args.seed))

        owner = LinkOwner(emu.pty_path, ShtrihExchangeRules(), baudrate=args.baud)
        with tempfile.TemporaryDirectory() as run_dir, \
                SharedPort(owner, "bench", run_dir=Path(run_dir)) as shared:
            idle = till(str(shared.link), args.commands, gap, random.Random(args.seed))
            reader = CatchUp(owner, last)
            reader.start()
            try:
                busy = till(str(shared.link), args.commands, gap, random.Random(args.seed))
            finally:
                reader.stop.set()
                reader.join(10)
        owner.close()

    print(row("direct", direct))
    print(row("shared, bridge idle", idle, direct))
    print(row("shared, during catch-up", busy, direct))
    read_p50, read_p99 = percentile(reader.reads, 0.5), percentile(reader.reads, 0.99)
    print(f"{'one document read':<24} p50 {ms(read_p50)}   p99 {ms(read_p99)}"
          f"   ({len(reader.reads)} read during the catch-up)")
    added = percentile(busy, 0.99) - percentile(direct, 0.99)
    target = read_p99 + MARGIN
    verdict = "met" if added < target else "NOT met"
    print(f"target: added p99 during catch-up {ms(added)} < one read p99 + 20 ms "
          f"{ms(target)}: {verdict}")
    return 0 if added < target else 1


if __name__ == "__main__":
    sys.exit(main())
