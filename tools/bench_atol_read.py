#!/usr/bin/env python3
"""The ATOL half of the read benchmark (``tools/bench_emulator_read.py`` is the Shtrih half
and the harness this file reuses: :class:`Run`, :func:`measured`, the line counters).

An archive of ``--documents`` documents is made through the ATOL register's own API, saved
to a state file and served by ``kkt-bridge emulator --driver atol`` in a process of its own
over a pty paced at ``--baud``. Then, ``--repeats`` times, :func:`atol_client` (the project's
ATOL driver: A4 45, then A4 46 up to the announced length, each document checked byte for
byte) reads them all. Printed per run and as medians: wall time, bytes both ways as the
emulator's line counted them, their wire time, wall / wire, the emulator's CPU and line
wake-ups per document, the load.

Run: ``.venv/bin/python tools/bench_atol_read.py [--documents 1000] [--baud 115200]
[--repeats 3] [--results async|sync] [--ack-add]``. Small N while developing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench_emulator_read import BITS_PER_BYTE, Run, measured

from kkt_bridge.drivers.atol.emulator.register import AtolRegister
from kkt_bridge.emulation.clock import ManualClock


def atol_client(path: str, count: int, stored: list[bytes], *, ack_add: bool = False
                ) -> Callable[[], None]:
    """The ATOL client mode: read documents 1..count with the ATOL driver."""
    from kkt_bridge.drivers.atol.plugin import driver

    def work() -> None:
        kkt = driver.open(path, **({"ack_add": True} if ack_add else {}))
        try:
            for number, data in kkt.iter_documents(1, count):
                if data != stored[number - 1]:
                    raise SystemExit(f"document {number} differs from what the ФН stored")
        finally:
            kkt.close()
    return work


def fill(state: Path, documents: int) -> list[bytes]:
    register = AtolRegister(state_path=state, clock=ManualClock(), seed=1)
    sold = 0
    while len(register.archive()) < documents:
        register.open_shift()
        for _ in range(50):
            if len(register.archive()) >= documents - 1:
                break
            sold += 1
            register.sell([(f"Товар {sold}", 100 + sold, ("1", "1.5", "0.25")[sold % 3]),
                           ("Пакет", 500)])
        register.close_shift()
    register.persist()
    return register.archive()


def start_emulator(state: Path, baud: int, results: str, ack_add: bool = False
                   ) -> tuple[subprocess.Popen[str], str, str]:
    options = ["--link-option", f"results={results}"]
    if ack_add:
        options += ["--link-option", "accept_ack_add=1"]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()", "emulator",
         "--driver", "atol", "--pty", "--state", str(state), "--baud", str(baud), *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pty_path = proc.stdout.readline().strip()
    control = proc.stdout.readline().strip()
    if not pty_path.startswith("/dev/") or not control.startswith("control "):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {pty_path!r} {control!r}")
    return proc, pty_path, control.split()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", choices=("async", "sync"), default="async",
                        help="how the emulated register returns results (atol.md §9 q. 1)")
    parser.add_argument("--ack-add", action="store_true",
                        help="acknowledge each result inside the next ADD (C5, [?]: the "
                             "emulator is told to take it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kkt-bench-atol-") as tmp:
        state = Path(tmp) / "atol.json"
        stored = fill(state, args.documents)
        count = len(stored)
        print(f"archive: {count} documents, {sum(map(len, stored))} bytes")
        proc, path, url = start_emulator(state, args.baud, args.results, args.ack_add)
        runs: list[Run] = []
        try:
            for repeat in range(args.repeats):
                run = measured(url, "atol", args.baud, count,
                               atol_client(path, count, stored, ack_add=args.ack_add))
                runs.append(run)
                print(f"#{repeat + 1} {run.line()}", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
    med = Run("atol", count, statistics.median(r.seconds for r in runs),
              int(statistics.median(r.bytes_in for r in runs)),
              int(statistics.median(r.bytes_out for r in runs)),
              statistics.median(r.cpu for r in runs),
              int(statistics.median(r.wakeups for r in runs)),
              statistics.median(r.load for r in runs), args.baud)
    print(f"line: pty paced at {args.baud} baud, 8N1 ({BITS_PER_BYTE} bits a byte); results "
          f"{args.results}{'; C5 ACK_ADD' if args.ack_add else ''}; emulator in its own "
          f"process; load {os.getloadavg()}")
    print(f"median    {med.line()}  ({(med.bytes_in + med.bytes_out) / count:.1f} "
          f"wire bytes/doc)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
