#!/usr/bin/env python3
"""Where a document read spends the time beyond the wire: one timestamped trace.

``tools/bench_read.py`` says how far the read is from the wire (wall / wire); this says
where the rest goes, per round trip. It makes an archive the same way, serves it from an
emulator process of its own over a pty (``--line pty``, the default) or a TCP port
(``--line tcp``) paced at ``--baud``, and reads every document with the project's Shtrih
driver (``--driver shtrih``, the default) or ATOL driver (``--driver atol``, results
asynchronous as ``bench_read.py`` serves them) while both ends note, on the shared
monotonic clock:

- the driver: each write to the port (when it starts) and each read that returned bytes
  (when it returned, how many);
- the emulator's line: each read (when it returned; over TCP also the moment the line
  dated the bytes, the kernel's receive stamp), each paced piece taken for writing (the
  moment it was due), each write (when it started).

Then, for every round trip of the steady state (one request to the next; a request is the
driver's writes with no read between them, so the ACK a driver writes alone at the end of a
document joins the next document's first command), the segments:

- ``host write -> last host write``: the driver's work between a write alone and the
  request it joins (0 but once a document);
- ``host write -> emu read``: the pty and the scheduler waking the emulator;
- ``emu read -> last due - wire``: what the emulator's clock loses beyond the wire time of
  the bytes of the command (frame in, answer out), counted from the moment it read the frame;
- ``last due -> emu write``: how late the last piece of the answer was written;
- ``emu write -> host read``: the pty and the scheduler waking the driver;
- ``host read -> host write``: the driver's own reaction (decode, next frame, write).

and, as counts, the driver's reads that returned bytes and the emulator's writes: how many
pieces an answer came in (ATOL: A1, then the result) and how many reads the driver took.

Over TCP the emulator counts a request from its kernel stamp, not from its read, so the
second segment is smaller by the first (the crossing is hidden under the wire time);
``host write -> stamp`` (not in the sum) says how close the stamp is to the write. As in
``bench_read.py``, the TCP line goes without a network Shtrih's stray 0xFF after the host's
ACK unless ``--stray-ff``: that byte leaves while the next request comes in, and would be
counted as wire time it does not take.

Medians, 90th percentiles, means and the total per document in microseconds, and their sum
beside the whole overhead (wall minus wire of the round trip; a write alone's bytes count
as wire, as in ``bench_read.py``, where the segments leave them out: they cross the line
while the driver goes on). The tracing costs each end a Python call per syscall (about a
microsecond).

``--cpu-latency-us N`` holds a PM QoS request while the documents are read
(:mod:`kkt_bridge.testing.cpu_latency` says why: on a quiet VM the two crossings are mostly
the vCPU's wake-up from halt); the idle policy in force is printed above the table.

Run: ``.venv/bin/python tools/trace_read.py [--driver shtrih|atol] [--documents 30]
[--baud 115200] [--line tcp] [--stray-ff] [--cpu-latency-us 0]``.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_read import NotingPort, fill, opened

from kkt_bridge.emulation.faults import BITS_PER_BYTE
from kkt_bridge.errors import KktBridgeError
from kkt_bridge.testing.cpu_latency import cpu_latency, idle_policy

#: run in the emulator's process: trace the line's reads, writes and due pieces, and write
#: the trace to argv[1] on SIGUSR1
_EMULATOR = """
import os, signal, sys, time, types
from kkt_bridge.emulation import lines
out_path = sys.argv.pop(1)
trace = []
note = trace.append
clock = time.monotonic
real_read, real_write = os.read, os.write
def read(fd, n):
    data = real_read(fd, n)
    note((clock(), "r", len(data)))
    return data
def write(fd, data):
    note((clock(), "w", len(data)))
    return real_write(fd, data)
proxy = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
proxy.read, proxy.write = read, write
lines.os = proxy
real_tcp_read = lines.TcpServer._read
def tcp_read(self, fd):
    data, sent = real_tcp_read(self, fd)
    note((clock(), "r", len(data)))
    if sent is not None:
        note((sent, "s", len(data)))
    return data, sent
lines.TcpServer._read = tcp_read
real_take = lines._Outbox.take_due
def take_due(self, now):
    if self.held:
        note((self.held[0][0], "d", len(self.held[0][1])))
    real_take(self, now)
lines._Outbox.take_due = take_due
def dump(_sig, _frame):
    with open(out_path + ".tmp", "w") as f:
        for t, kind, n in trace:
            f.write(f"{t!r} {kind} {n}\\n")
    os.replace(out_path + ".tmp", out_path)
signal.signal(signal.SIGUSR1, dump)
from kkt_bridge.cli.main import main
sys.argv[0] = "kkt-bridge"
main()
"""

Event = tuple[float, str, int]


def trace_port(transport: Any, trace: list[Event]) -> None:
    """Note the driver's writes and the reads that returned bytes: on the descriptor (a
    tty's, or a ``socket://`` port's socket) where the transport reads directly
    (kkt_bridge.link.direct), else around the port."""
    direct: Any
    try:
        from kkt_bridge.link import direct
    except ImportError:  # a tree from before the direct reads
        direct = None
    clock, note = time.monotonic, trace.append
    reader = None
    for name in ("_direct_read", "_read"):  # the ATOL and the Shtrih transport's read
        owner = getattr(getattr(transport, name, None), "__self__", None)
        if direct is not None and isinstance(owner, direct.DirectIO):  # SocketIO included
            reader = owner
    if reader is None:
        transport.port = NotingPort(
            transport.port, lambda kind, data: trace.append((time.monotonic(), kind, len(data))))
        return
    fd = reader.fd
    real_read, real_write = os.read, os.write

    def read(where: int, size: int) -> bytes:
        data = real_read(where, size)
        if data and where == fd:
            note((clock(), "R", len(data)))
        return data

    def write(where: int, data: bytes) -> int:
        if where == fd:
            note((clock(), "W", len(data)))
        return real_write(where, data)

    proxy = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os)
                                     if not k.startswith("__")})
    proxy.read, proxy.write = read, write
    direct.os = proxy  # type: ignore[assignment]


def link_options(driver: str, stray_ff: bool) -> list[str]:
    """The emulator's ``--link-option``s, as ``bench_read.py`` serves each driver."""
    if driver == "shtrih":
        return ["--link-option", f"stray_ff={int(stray_ff)}"]
    return ["--link-option", "results=async"]


def serve(driver: str, state: Path, baud: int, out: Path, line: str,
          stray_ff: bool) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-c", _EMULATOR, str(out), "emulator", "--driver", driver,
               *(["--pty"] if line == "pty" else ["--tcp", "127.0.0.1:0"]),
               *link_options(driver, stray_ff),
               "--state", str(state), "--baud", str(baud)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    path = proc.stdout.readline().strip()
    proc.stdout.readline()  # the control API
    if not path.startswith("/dev/" if line == "pty" else "socket://"):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {path!r}")
    return proc, path


def read_all(driver: str, path: str, stored: list[bytes], trace: list[Event]) -> float:
    with opened(driver, path) as kkt:
        trace_port(kkt.transport, trace)
        started = time.monotonic()
        for number, data in kkt.iter_documents(1, len(stored)):
            if data != stored[number - 1]:
                raise SystemExit(f"document {number} differs from the ФН's")
        return time.monotonic() - started


#: the segments of a round trip, in the order of the module text
SEGMENTS = ("host write -> last host write", "host write -> emu read",
            "emu read -> last due - wire", "last due -> emu write", "emu write -> host read",
            "host read -> host write")
#: counts per round trip (not microseconds)
COUNTS = ("host reads", "emu writes")


def segments(host: list[Event], emu: list[Event], byte_time: float) -> dict[str, list[float]]:
    """Per round trip, the segments of the module text in us, and the counts of
    :data:`COUNTS`. A round trip runs from one request to the next: a request is the
    host's writes with no read between them (a result's ACK written alone at the end of a
    document, then the next document's first command), so the driver's work between its
    documents is in the table too."""
    requests: list[list[Event]] = []
    previous = ""
    for event in host:
        if event[1] == "W":
            if previous == "W":
                requests[-1].append(event)
            else:
                requests.append([event])
        previous = event[1]
    out: dict[str, list[float]] = {name: [] for name in (
        *SEGMENTS, "sum", "wall - wire", "host write -> stamp", *COUNTS)}
    emu_reads = [e for e in emu if e[1] == "r" and e[2] > 0]
    stamps = [e for e in emu if e[1] == "s"]
    emu_writes = [e for e in emu if e[1] == "w"]
    dues = [e for e in emu if e[1] == "d"]
    host_reads = [e for e in host if e[1] == "R"]

    def between(events: list[Event], start: float, end: float) -> list[Event]:
        times = [e[0] for e in events]  # events are in time order
        return events[bisect.bisect_left(times, start):bisect.bisect_left(times, end)]

    # skip the first requests (opening, identity): the steady state is the document reads
    for this, after in itertools.pairwise(requests[5:]):
        first, start, end = this[0][0], this[-1][0], after[0][0]
        reads = between(emu_reads, start, end)
        wrote = between(emu_writes, start, end)
        due = between(dues, start - 0.01, end)
        got = between(host_reads, start, end)
        if not reads or not wrote or not due or not got:
            continue
        # the wire time of the last write and the answer: a write alone before it (an ACK)
        # crossed the line while the driver went on to the next request
        wire = (this[-1][2] + sum(e[2] for e in wrote)) * byte_time
        first_read, last_write, last_due = reads[0][0], wrote[-1][0], due[-1][0]
        last_got = got[-1][0]
        parts = {
            "host write -> last host write": start - first,
            "host write -> emu read": first_read - start,
            "emu read -> last due - wire": last_due - first_read - wire,
            "last due -> emu write": last_write - last_due,
            "emu write -> host read": last_got - last_write,
            "host read -> host write": end - last_got,
        }
        for name, value in parts.items():
            out[name].append(value * 1e6)
        out["sum"].append(sum(parts.values()) * 1e6)
        written = sum(e[2] for e in this) + sum(e[2] for e in wrote)
        out["wall - wire"].append((end - first - written * byte_time) * 1e6)
        stamped = [e for e in stamps if start - 0.001 <= e[0] < end]
        if stamped:
            out["host write -> stamp"].append((stamped[0][0] - start) * 1e6)
        out["host reads"].append(len(got))
        out["emu writes"].append(len(wrote))
    return out


def load(path: Path) -> list[Event]:
    events: list[Event] = []
    for line in path.read_text().splitlines():
        t, kind, n = line.split()
        events.append((float(t), kind, int(n)))
    return events


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--documents", type=int, default=30)
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--driver", choices=("shtrih", "atol"), default="shtrih",
                        help="whose read to trace: the project's Shtrih or ATOL driver, each "
                             "against its own emulator")
    parser.add_argument("--line", choices=("pty", "tcp"), default="pty")
    parser.add_argument("--stray-ff", action="store_true",
                        help="over TCP, the stray 0xFF a network Shtrih sends after ACK")
    parser.add_argument("--cpu-latency-us", type=int, default=None, metavar="N",
                        help="hold a PM QoS request of N us on /dev/cpu_dma_latency while the "
                             "documents are read (0: idle CPUs poll instead of halting; "
                             "needs root)")
    args = parser.parse_args(argv)
    byte_time = BITS_PER_BYTE / args.baud
    policy = contextlib.ExitStack()
    if args.cpu_latency_us is not None:
        try:
            policy.enter_context(cpu_latency(args.cpu_latency_us))
        except KktBridgeError as exc:
            parser.error(f"--cpu-latency-us: {exc}")
    with policy, tempfile.TemporaryDirectory(prefix="kkt-trace-read-") as tmp:
        state, out = Path(tmp) / f"{args.driver}.json", Path(tmp) / "emulator.trace"
        stored = fill(args.driver, state, args.documents)
        proc, path = serve(args.driver, state, args.baud, out, args.line, args.stray_ff)
        host: list[Event] = []
        try:
            wall = read_all(args.driver, path, stored, host)
            proc.send_signal(signal.SIGUSR1)
            for _ in range(200):  # bounded: the dump takes milliseconds
                if out.exists():
                    break
                time.sleep(0.02)
            emu = load(out)
        finally:
            proc.terminate()
            proc.wait(10)
    table = segments(host, emu, byte_time)
    commands = len(table["sum"])
    reads = sum(1 for e in emu if e[1] == "r" and e[2] > 0)
    stamped = sum(1 for e in emu if e[1] == "s")
    if args.line == "tcp":
        print(f"emulator reads dated by the kernel's stamp: {stamped} of {reads}")
    print(idle_policy(args.cpu_latency_us))
    print(f"{args.driver}/{args.line}: {args.documents} documents, {wall:.3f} s, {commands} "
          f"round trips traced; load {os.getloadavg()[0]:.2f}; us per round trip (counts for "
          f"the last two rows), and the total per document:")
    for name, values in table.items():
        if values:
            total = sum(values) / args.documents
            values.sort()
            p90 = values[int(0.9 * (len(values) - 1))]
            print(f"  {name:<30} median {statistics.median(values):8.1f}  p90 {p90:8.1f}"
                  f"  mean {statistics.fmean(values):8.1f}  per document {total:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
