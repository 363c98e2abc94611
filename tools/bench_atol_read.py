#!/usr/bin/env python3
"""The ATOL half of the read benchmark: the ATOL driver reads a ФН archive from the ATOL
emulator, which runs in its own process on a pty paced at ``--baud`` (8N1).

``atol_client(url, first, last)`` is the client mode a combined benchmark
(``tools/bench_emulator_read.py``) can call beside its Shtrih clients; run alone, this file
fills an archive of ``--documents``, reads it ``--repeat`` times and prints, per run, the
wall time, the bytes both ways as the emulator counted them, the wire time of those bytes
(bytes x 10 / baud), wall / wire, and the emulator's CPU seconds per document, then the
medians and the load average.

Run: ``.venv/bin/python tools/bench_atol_read.py [--documents 1000] [--baud 115200]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

BITS_PER_BYTE = 10


def atol_client(url: str, first: int, last: int) -> list[bytes]:
    """Read documents ``first..last`` with the project's ATOL driver (A4 45, then A4 46 up
    to the announced length): what is measured."""
    from kkt_bridge.drivers.atol.plugin import driver

    kkt = driver.open(url)
    try:
        return [document for _n, document in kkt.iter_documents(first, last)]
    finally:
        kkt.close()


def _serve(conn: Connection, documents: int, baud: int) -> None:
    """The emulator's process: fill the archive, serve the pty, answer counter requests."""
    from kkt_bridge.drivers.atol.emulator.frontend import FRONT_END
    from kkt_bridge.emulation import Emulator, ManualClock

    emu = Emulator(FRONT_END, pty=True, tcp=None, baud=baud, clock=ManualClock(), seed=1)
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
    emu.start()
    conn.send((emu.pty_path, emu.archive()))
    while True:
        request = conn.recv()
        if request == "stop":
            break
        link = emu.pty.link if emu.pty is not None else None
        usage = os.times()
        conn.send((link.bytes_in if link else 0, link.bytes_out if link else 0,
                   usage.user + usage.system))
    emu.stop()


@dataclass(frozen=True)
class Run:
    seconds: float
    bytes_in: int
    bytes_out: int
    cpu: float
    documents: int
    baud: int

    @property
    def wire(self) -> float:
        return (self.bytes_in + self.bytes_out) * BITS_PER_BYTE / self.baud

    def line(self) -> str:
        return (f"atol      wall {self.seconds:8.3f} s   bytes host->kkt {self.bytes_in:>8}  "
                f"kkt->host {self.bytes_out:>8}   wire {self.wire:8.3f} s   "
                f"wall/wire {self.seconds / self.wire:6.3f}   "
                f"emulator CPU/doc {1000 * self.cpu / self.documents:6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ours, theirs = mp.Pipe()
    child = mp.get_context("spawn").Process(target=_serve, args=(theirs, args.documents,
                                                                  args.baud), daemon=True)
    child.start()
    url, archive = ours.recv()
    runs = []
    for _round in range(args.repeat):
        ours.send("count")
        in0, out0, cpu0 = ours.recv()
        started = time.perf_counter()
        read = atol_client(url, 1, len(archive))
        seconds = time.perf_counter() - started
        time.sleep(0.05)  # the last ACK reaches the counters
        ours.send("count")
        in1, out1, cpu1 = ours.recv()
        if read != archive:
            raise SystemExit("the documents read differ from the archive")
        run = Run(seconds, in1 - in0, out1 - out0, cpu1 - cpu0, len(archive), args.baud)
        runs.append(run)
        print(run.line(), flush=True)
    ours.send("stop")
    child.join(10)
    wall_wire = statistics.median(r.seconds / r.wire for r in runs)
    per_doc = statistics.median((r.bytes_in + r.bytes_out) / r.documents for r in runs)
    cpu = statistics.median(1000 * r.cpu / r.documents for r in runs)
    print(f"median: wall/wire {wall_wire:.3f}, {per_doc:.1f} wire bytes per document, "
          f"emulator CPU {cpu:.3f} ms per document; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
