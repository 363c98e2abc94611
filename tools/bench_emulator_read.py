#!/usr/bin/env python3
"""How close to the wire does the driver read a ФН archive? And pyshtrih, in the same run?

An archive of ``--documents`` fiscal documents is made through the register's own API (no
line time), saved to a state file, and served by ``kkt-bridge emulator`` in a process of
its own over a pty paced at ``--baud`` (8N1: 10 bits a byte), so the emulator's CPU is not
the clients'. Then, ``--repeats`` times, alternating which goes first:

1. the project's driver (``kkt_bridge.registers.open_register``) reads every document
   (FF3A + FF3B until the announced length), each checked byte for byte against the ФН;
2. pyshtrih 2.0.6 reads the same documents through its raw ``protocol.command`` (FF3A +
   FF3B until error 08, as a client that does not use the length does).

Each run prints the wall time, the bytes that crossed the line both ways as the emulator's
line counted them, the wire time of those bytes (bytes x 10 / baud), wall / wire (1.0 is
a line never idle), the emulator's CPU per document and its line wake-ups per document
(from its control API), and the 1-minute load average. The summary gives the medians and
the median of kkt-bridge / pyshtrih wall time over the repeats.

Run: ``.venv/bin/python tools/bench_emulator_read.py [--documents 1000] [--baud 115200]
[--repeats 3]``. Small N while developing; the lead measures the real one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kkt_bridge.drivers.shtrih.emulator.device import EmulatedDevice
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.emulation.control import call
from kkt_bridge.emulation.faults import BITS_PER_BYTE

ADMIN = 30
END_OF_DATA = 0x08


@dataclass(frozen=True)
class Run:
    name: str
    documents: int
    seconds: float
    bytes_in: int
    bytes_out: int
    cpu: float  # the emulator process's CPU seconds during the run
    wakeups: int
    load: float
    baud: int

    @property
    def wire(self) -> float:
        return (self.bytes_in + self.bytes_out) * BITS_PER_BYTE / self.baud

    @property
    def ratio(self) -> float:
        return self.seconds / self.wire

    def line(self) -> str:
        return (f"{self.name:<9} wall {self.seconds:8.3f} s  host->kkt {self.bytes_in:>8} B"
                f"  kkt->host {self.bytes_out:>8} B  wire {self.wire:8.3f} s"
                f"  wall/wire {self.ratio:6.3f}  emulator CPU {self.cpu_ms:6.3f} ms/doc"
                f"  wakes {self.wakeups / self.documents:6.1f}/doc  load {self.load:4.2f}")

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.documents


def fill(state: Path, documents: int) -> list[bytes]:
    """Shifts of receipts until the archive holds ``documents`` documents; the archive."""
    device = EmulatedDevice(state_path=state, clock=ManualClock(), seed=1)
    per_shift = 50
    sold = 0
    while len(device.archive()) < documents:
        device.open_shift()
        for _ in range(per_shift):
            if len(device.archive()) >= documents - 1:
                break
            sold += 1
            device.sell([(f"Товар {sold}", 100 + sold, ("1", "1.5", "0.25")[sold % 3]),
                         ("Пакет", 500)])
        device.close_shift()
    device.persist()
    return device.archive()


def start_emulator(state: Path, baud: int) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kkt_bridge.drivers.shtrih.emulator", "--pty", "--state",
         str(state), "--baud", str(baud)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pty_path = proc.stdout.readline().strip()
    control = proc.stdout.readline().strip()
    if not pty_path.startswith("/dev/") or not control.startswith("control "):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {pty_path!r} {control!r}")
    return proc, pty_path, control.split()[1]


def line_counters(url: str) -> tuple[int, int, float, int]:
    status = call(url, "status", {})
    line = status["lines"][0]
    return line["bytes_in"], line["bytes_out"], status["cpu_seconds"], line["wakeups"]


def measured(url: str, name: str, baud: int, documents: int,
             work: Callable[[], None]) -> Run:
    before = line_counters(url)
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    time.sleep(0.05)  # let the last ACK reach the counters
    after = line_counters(url)
    return Run(name, documents, seconds, after[0] - before[0], after[1] - before[1],
               after[2] - before[2], after[3] - before[3], os.getloadavg()[0], baud)


def read_with_driver(path: str, count: int, stored: list[bytes]) -> Callable[[], None]:
    from kkt_bridge.registers import open_register

    def work() -> None:
        with open_register(path) as kkt:  # type: ignore[attr-defined]
            for number, data in kkt.iter_documents(1, count):
                if data != stored[number - 1]:
                    raise SystemExit(f"document {number} differs from what the ФН stored")
    return work


def read_with_pyshtrih(path: str, count: int, stored: list[bytes]) -> Callable[[], None]:
    import pyshtrih

    def work() -> None:
        device: Any = pyshtrih.ShtrihM01F(path, 115200, timeout=3)
        device.connect()
        try:
            for number in range(1, count + 1):
                head = bytes(device.protocol.command(0xFF3A, ADMIN,
                                                     bytearray(number.to_bytes(4, "little"))))
                if head[0] != 0:
                    raise SystemExit(f"FF3A {number}: error {head[0]:#x}")
                body = bytearray()
                for _block in range(10_000):
                    answer = bytes(device.protocol.command(0xFF3B, ADMIN))
                    if answer[0] == END_OF_DATA:
                        break
                    if answer[0] != 0:
                        raise SystemExit(f"FF3B {number}: error {answer[0]:#x}")
                    body += answer[1:]
                if head[1:5] + body != stored[number - 1]:
                    raise SystemExit(f"pyshtrih: document {number} differs")
        finally:
            device.disconnect()
    return work


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pyshtrih", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kkt-bench-") as tmp:
        state = Path(tmp) / "kkt.json"
        started = time.perf_counter()
        stored = fill(state, args.documents)
        count = len(stored)
        print(f"archive: {count} documents, {sum(map(len, stored))} bytes "
              f"(made in {time.perf_counter() - started:.1f} s through the register's API)")
        proc, path, url = start_emulator(state, args.baud)
        clients: list[tuple[str, Callable[[], None]]] = [
            ("driver", read_with_driver(path, count, stored))]
        if not args.skip_pyshtrih:
            clients.append(("pyshtrih", read_with_pyshtrih(path, count, stored)))
        load_start = os.getloadavg()
        runs: list[Run] = []
        try:
            for repeat in range(args.repeats):
                order = clients if repeat % 2 == 0 else list(reversed(clients))
                for name, work in order:
                    run = measured(url, name, args.baud, count, work)
                    runs.append(run)
                    print(f"#{repeat + 1} {run.line()}", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
    load_end = os.getloadavg()
    print(f"line: pty paced at {args.baud} baud, 8N1 ({BITS_PER_BYTE} bits a byte); emulator "
          f"in its own process; {args.repeats} repeats, clients' order alternating")
    print(f"load average (1, 5, 15 min): start {load_start[0]:.2f} {load_start[1]:.2f} "
          f"{load_start[2]:.2f}, end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} "
          f"on {os.cpu_count()} cores")
    medians: dict[str, Run] = {}
    for name, _work in clients:
        mine = [run for run in runs if run.name == name]
        med = Run(name, count, statistics.median(r.seconds for r in mine),
                  int(statistics.median(r.bytes_in for r in mine)),
                  int(statistics.median(r.bytes_out for r in mine)),
                  statistics.median(r.cpu for r in mine),
                  int(statistics.median(r.wakeups for r in mine)),
                  statistics.median(r.load for r in mine), args.baud)
        medians[name] = med
        print(f"median    {med.line()}  ({(med.bytes_in + med.bytes_out) / count:.1f} "
              f"wire bytes/doc)")
    if "pyshtrih" in medians:
        ratios = [d.seconds / p.seconds for d, p in zip(
            [r for r in runs if r.name == "driver"], [r for r in runs if r.name == "pyshtrih"],
            strict=True)]
        print(f"kkt-bridge / pyshtrih wall time: median {statistics.median(ratios):.3f} "
              f"(per repeat: {', '.join(f'{r:.3f}' for r in ratios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
