#!/usr/bin/env python3
"""How close to the wire does the driver read a ФН archive? And pyshtrih, in the same run?

An emulated register gets an archive of ``--documents`` fiscal documents (made through the
device API, not the link, so that filling it takes no line time). Then, over a pty paced at
``--baud`` (8N1: 10 bits a byte):

1. the project's driver (``kkt_bridge.registers.open_register``) reads every document
   (FF3A + one FF3B per top-level TLV) and each is checked byte for byte against what the
   emulator stored;
2. pyshtrih 2.0.6 reads the same documents with the same commands through its raw
   ``protocol.command``.

For each it prints the wall time, the bytes that crossed the line both ways as the
emulator counted them, the theoretical wire time of those bytes (bytes x 10 / baud) and the
ratio wall / wire (1.0 would be a line never idle).

Run: ``.venv/bin/python tools/bench_emulator_read.py [--documents 1000] [--baud 115200]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.drivers.shtrih.emulator.clock import ManualClock
from kkt_bridge.drivers.shtrih.emulator.faults import BITS_PER_BYTE

ADMIN = 30
END_OF_DATA = 0x08


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    bytes_in: int
    bytes_out: int
    baud: int

    @property
    def wire(self) -> float:
        return (self.bytes_in + self.bytes_out) * BITS_PER_BYTE / self.baud

    def line(self) -> str:
        return (f"{self.name:<9} wall {self.seconds:8.3f} s   bytes host->kkt {self.bytes_in:>8}"
                f"  kkt->host {self.bytes_out:>8}   wire {self.wire:8.3f} s   "
                f"wall/wire {self.seconds / self.wire:6.3f}")


def fill(emu: Emulator, documents: int) -> None:
    """Shifts of receipts until the archive holds ``documents`` documents."""
    per_shift = 50
    sold = 0
    while len(emu.archive()) < documents:
        emu.open_shift()
        for _ in range(per_shift):
            if len(emu.archive()) >= documents - 1:
                break
            sold += 1
            emu.sell([(f"Товар {sold}", 100 + sold, ("1", "1.5", "0.25")[sold % 3]),
                      ("Пакет", 500)])
        emu.close_shift()
    # the last shift close may overshoot by one: that is fine, the count is what it is


def measured(emu: Emulator, name: str, baud: int, work: Callable[[], None]) -> Run:
    line = emu.pty
    assert line is not None and line.link is not None
    link = line.link
    start_in, start_out = link.bytes_in, link.bytes_out
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    time.sleep(0.05)  # let the last ACK reach the counters
    return Run(name, seconds, link.bytes_in - start_in, link.bytes_out - start_out, baud)


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
        device = pyshtrih.ShtrihM01F(path, 115200, timeout=3)
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
    parser.add_argument("--skip-pyshtrih", action="store_true")
    args = parser.parse_args()

    with Emulator(pty=True, tcp=None, clock=ManualClock(), baud=args.baud) as emu:
        started = time.perf_counter()
        fill(emu, args.documents)
        stored = emu.archive()
        count = len(stored)
        print(f"archive: {count} documents, {sum(map(len, stored))} bytes "
              f"(made in {time.perf_counter() - started:.1f} s through the device API)")
        path = emu.pty_path
        assert path is not None
        runs = [measured(emu, "driver", args.baud, read_with_driver(path, count, stored))]
        if not args.skip_pyshtrih:
            runs.append(measured(emu, "pyshtrih", args.baud,
                                 read_with_pyshtrih(path, count, stored)))
    print(f"line: pty paced at {args.baud} baud, 8N1 ({BITS_PER_BYTE} bits a byte)")
    for run in runs:
        print(run.line())
    if len(runs) == 2:
        print(f"pyshtrih / driver wall time: {runs[1].seconds / runs[0].seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
