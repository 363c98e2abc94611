#!/usr/bin/env python3
"""How close to the wire do the drivers read a ФН archive, and pyshtrih beside them?

For each protocol a client needs, an archive of ``--documents`` fiscal documents is made
through the register's own API (no line time: shifts of receipts, as a shop makes them),
saved to a state file, and served by ``kkt-bridge emulator --driver shtrih|atol`` in a
process of its own, paced at ``--baud`` (8N1: 10 bits a byte), so the emulator's CPU is not
the clients'. It serves the lines of ``--line`` (both by default, from the same process and
archive):

- ``pty``: a pseudo-terminal, as a serial port; the emulator dates a request by the moment
  it reads it, so the pty's crossing adds to every request's wire time;
- ``tcp``: ``socket://127.0.0.1:PORT``; the emulator dates a request by the kernel's
  receive stamp, the client's write (:mod:`kkt_bridge.emulation.lines`), as a serial line
  would. The project's drivers open it as they open any ``socket://`` URL (TCP_NODELAY
  on); pyshtrih gets pyserial's ``serial_for_url("socket://...")`` port in place of its
  own serial port (no TCP_NODELAY: pyserial sets none, and pyshtrih no more).

A network Shtrih sends a stray 0xFF after the host's ACK; the Shtrih emulator's TCP line is
served without it here (``stray_ff=0``), so that both lines carry a serial line's bytes: the
0xFF leaves while the host's next request comes in, and counting it as wire time would
flatter the TCP figure (about 3 %). ``--stray-ff`` keeps it; pyshtrih then reads over the
pty only, as it takes the 0xFF for a wrong answer to its ENQ and waits out its read
timeout (3 s) every command.

Then, ``--repeats`` times, the (line, client) pairs' order alternating:

- ``shtrih``: the project's Shtrih driver (``open_register``) reads every document (FF3A,
  then FF3B up to the length FF3A announced);
- ``pyshtrih``: pyshtrih 2.0.6 reads the same documents through its raw
  ``protocol.command`` (FF3A, then FF3B until error 08, as a client that does not use the
  length does);
- ``atol``: the project's ATOL driver reads its archive (A4 45, then A4 46 up to the
  announced length).

Every document is checked byte for byte against what the ФН stored. Each run (open the port,
read, close it) prints the wall time, the bytes that crossed the line both ways as the
emulator's line counted them, their wire time (bytes x 10 / baud), wall / wire (1.0 is a
line never idle) and beside it the same for the documents alone (from the open port to the
last document: no probe, no close; pyserial's ``socket://`` close sleeps 0.3 s, and a probe
closes the port once more), the emulator's CPU per document and its line wake-ups per
document (from its control API), and the 1-minute load average. The summary gives the
medians per line and client, kkt-bridge / pyshtrih wall time per repeat and their median,
and the issue's targets, each marked met or not: wall / wire <= 1.05 on a quiet machine,
<= 1.10 with the other core busy, kkt-bridge / pyshtrih <= 0.92.

``--floor`` adds a calibration client per driver measured (``floor-shtrih``,
``floor-atol``; the Shtrih one for pyshtrih alone), the bare line: the driver's bytes for
the documents are first recorded over each line of an unpaced emulator in this process
(the same archive; seconds), then, in every repeat beside the other clients, replayed over
the same line of the same paced emulator process that driver reads from: the pty opened
raw, or a socket with TCP_NODELAY, each recorded write then a read of exactly the bytes the
driver read before its next write, nothing decoded until the end (the answers are then
compared with the recorded ones). Its wall / wire is the line's own floor on this machine
(the crossings and wake-ups a round trip costs whatever the client: it is itself Python, a
poll and a read an answer, a few microseconds a round trip above what a C client would
pay); the summary prints each driver's documents-only ratio, its own line's floor, and the
driver's excess over it (per round trip): ATOL's frames are longer and come two a task (A1,
then the result), so the Shtrih floor is no floor for it. The emulator's control API counts
bytes, wake-ups and CPU, not crossing times per command: ``tools/trace_read.py`` splits
those.

``--cpu-latency-us N`` measures every table a second time while a PM QoS request of N us
is held on ``/dev/cpu_dma_latency`` (needs root; refused before anything is made when the
file cannot be opened): in every repeat the runs go once without and once with the request,
the two alternating first, and each policy gets its table and summary, which say which idle
policy was in force, with the targets marked for each. Why, and what it costs:
:mod:`kkt_bridge.testing.cpu_latency`. The default measurement holds no request.

``--busy`` measures everything a second time while a busy process keeps one core at 100 %
(it stops by itself when this benchmark ends, or after ``--busy-cap`` seconds), and prints
both tables.

Run: ``.venv/bin/python tools/bench_read.py [--documents 1000] [--baud 115200] [--repeats 3]
[--only shtrih,pyshtrih,atol] [--line pty,tcp] [--busy] [--floor] [--cpu-latency-us 0]``.
Small N while developing; the lead measures N=1000.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tty
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kkt_bridge.driverapi import get_emulator
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.emulation.control import call
from kkt_bridge.emulation.faults import BITS_PER_BYTE
from kkt_bridge.errors import KktBridgeError
from kkt_bridge.testing.cpu_latency import cpu_latency, idle_policy

ADMIN = 30
END_OF_DATA = 0x08
#: client -> the protocol of the emulator it reads
CLIENTS = {"shtrih": "shtrih", "pyshtrih": "shtrih", "atol": "atol"}
#: the bare line's clients (--floor): a driver's bytes, replayed; protocol -> client name
FLOORS = {"shtrih": "floor-shtrih", "atol": "floor-atol"}
#: the project's own drivers: a floor is recorded for each of them that is measured
DRIVERS = ("shtrih", "atol")
LINES = ("pty", "tcp")
#: clients that cannot read over a line kind, and why (printed with the results); filled
#: by --stray-ff
UNFIT: dict[tuple[str, str], str] = {}
STRAY_FF_UNFIT = {("pyshtrih", "tcp"): (
    "pyshtrih is on the pty only: over socket:// it takes the stray 0xFF a network Shtrih "
    "sends after the host's ACK for a wrong answer to ENQ and waits out its 3 s timeout "
    "every command")}
#: the issue's targets: wall / wire of the project's drivers, quiet and with a core busy;
#: kkt-bridge / pyshtrih wall time on the same documents
QUIET_TARGET = 1.05
BUSY_TARGET = 1.10
PYSHTRIH_TARGET = 0.92
#: a busy process's own limit, should this benchmark die without stopping it
BUSY_CAP = 3600.0

#: a client's run: it calls ``lap()`` once its port is open and once its last document is
#: read, so that the reading itself is measured apart from opening and closing the port
Lap = Callable[[], None]
Work = Callable[[Lap], None]
T = TypeVar("T")


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
    #: the documents alone, without opening (a probe) and closing the port: wall seconds
    #: and bytes both ways
    read_seconds: float
    read_bytes: int

    @property
    def wire(self) -> float:
        return (self.bytes_in + self.bytes_out) * BITS_PER_BYTE / self.baud

    @property
    def ratio(self) -> float:
        return self.seconds / self.wire

    @property
    def read_ratio(self) -> float:
        return self.read_seconds / (self.read_bytes * BITS_PER_BYTE / self.baud)

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.documents

    def line(self) -> str:
        return (f"{self.name:<16} wall {self.seconds:8.3f} s  host->kkt {self.bytes_in:>8} B"
                f"  kkt->host {self.bytes_out:>8} B  wire {self.wire:8.3f} s"
                f"  wall/wire {self.ratio:6.3f} (documents {self.read_ratio:6.3f})"
                f"  emulator CPU {self.cpu_ms:6.3f} ms/doc"
                f"  wakes {self.wakeups / self.documents:6.1f}/doc  load {self.load:4.2f}")


def median_run(runs: Sequence[Run]) -> Run:
    """Each figure's median over ``runs`` (of one client)."""
    first = runs[0]
    return Run(first.name, first.documents, statistics.median(r.seconds for r in runs),
               int(statistics.median(r.bytes_in for r in runs)),
               int(statistics.median(r.bytes_out for r in runs)),
               statistics.median(r.cpu for r in runs),
               int(statistics.median(r.wakeups for r in runs)),
               statistics.median(r.load for r in runs), first.baud,
               statistics.median(r.read_seconds for r in runs),
               int(statistics.median(r.read_bytes for r in runs)))


def order(names: Sequence[T], repeat: int) -> list[T]:
    """The runs' order in a repeat: as given, then reversed, and so on."""
    return list(names) if repeat % 2 == 0 else list(reversed(names))


def mark(value: float, target: float) -> str:
    return f"{value:.3f} <= {target:.2f}: {'met' if value <= target else 'NOT met'}"


# --- the archives -------------------------------------------------------------------------


def fill(protocol: str, state: Path, documents: int) -> list[bytes]:
    """Shifts of receipts until the archive holds ``documents`` documents; the archive."""
    register: Any = get_emulator(protocol).make_register(
        state_path=state, clock=ManualClock(), seed=1)
    per_shift = 50
    sold = 0
    while len(register.archive()) < documents:
        register.open_shift()
        for _ in range(per_shift):
            if len(register.archive()) >= documents - 1:
                break
            sold += 1
            register.sell([(f"Товар {sold}", 100 + sold, ("1", "1.5", "0.25")[sold % 3]),
                           ("Пакет", 500)])
        register.close_shift()
    register.persist()
    return list(register.archive())


@dataclass
class Served:
    """One protocol's archive, served by an emulator process of its own on its lines."""

    protocol: str
    stored: list[bytes]
    proc: subprocess.Popen[str]
    urls: dict[str, str]  # line kind -> what a client opens (the pty, socket://...)
    control: str  # the control API's URL


def serve(protocol: str, state: Path, stored: list[bytes], baud: int,
          options: Sequence[str], lines: Sequence[str]) -> Served:
    command = [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()",
               "emulator", "--driver", protocol, "--state", str(state), "--baud", str(baud)]
    if "pty" in lines:
        command.append("--pty")
    if "tcp" in lines:
        command += ["--tcp", "127.0.0.1:0"]
    for option in options:
        command += ["--link-option", option]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    said = [proc.stdout.readline().strip() for _line in lines]
    control = proc.stdout.readline().strip()
    urls = {("tcp" if url.startswith("socket://") else "pty"): url for url in said}
    if sorted(urls) != sorted(lines) or not control.startswith("control "):
        proc.kill()
        raise SystemExit(f"the {protocol} emulator did not start: {said!r} {control!r}")
    return Served(protocol, stored, proc, urls, control.split()[1])


# --- the clients ----------------------------------------------------------------------------


#: set by --atol-ack-add: each result is acknowledged inside the next ADD (C5, a [?] fact)
ATOL_OPTIONS: dict[str, bool] = {}


@contextmanager
def opened(protocol: str, url: str) -> Iterator[Any]:
    """The project's driver of ``protocol`` (shtrih, atol) open on ``url``: its register
    (``iter_documents``, ``transport`` with its ``port``), closed on the way out."""
    if protocol == "shtrih":
        from kkt_bridge.registers import open_register

        with open_register(url, driver="shtrih") as kkt:  # type: ignore[attr-defined]
            yield kkt
        return
    from kkt_bridge.drivers.atol.plugin import driver

    kkt = driver.open(url, **ATOL_OPTIONS)
    try:
        yield kkt
    finally:
        kkt.close()


def driver_client(protocol: str) -> Callable[[str, list[bytes]], Work]:
    """The client of the project's ``protocol`` driver: it reads every document and
    checks it against the ФН's."""
    def make(url: str, stored: list[bytes]) -> Work:
        def work(lap: Lap) -> None:
            with opened(protocol, url) as kkt:
                lap()
                for number, data in kkt.iter_documents(1, len(stored)):
                    if data != stored[number - 1]:
                        raise SystemExit(f"{protocol}: document {number} differs from the "
                                         f"ФН's")
                lap()
        return work
    return make


shtrih_client = driver_client("shtrih")
atol_client = driver_client("atol")


def pyshtrih_client(url: str, stored: list[bytes]) -> Work:
    import pyshtrih
    import serial

    def work(lap: Lap) -> None:
        device: Any = pyshtrih.ShtrihM01F(url, 115200, timeout=3)
        if url.startswith("socket://"):
            # pyshtrih opens a serial.Serial by name; pyserial's socket:// port takes its
            # place, unopened, with the same timeouts (pyshtrih's connect opens it)
            device.protocol.serial = serial.serial_for_url(
                url, do_not_open=True, timeout=3, write_timeout=3)
        device.connect()
        lap()
        try:
            for number in range(1, len(stored) + 1):
                head = bytes(device.protocol.command(0xFF3A, ADMIN,
                                                     bytearray(number.to_bytes(4, "little"))))
                if head[0] != 0:
                    raise SystemExit(f"pyshtrih: FF3A {number}: error {head[0]:#x}")
                body = bytearray()
                for _block in range(10_000):
                    answer = bytes(device.protocol.command(0xFF3B, ADMIN))
                    if answer[0] == END_OF_DATA:
                        break
                    if answer[0] != 0:
                        raise SystemExit(f"pyshtrih: FF3B {number}: error {answer[0]:#x}")
                    body += answer[1:]
                if head[1:5] + body != stored[number - 1]:
                    raise SystemExit(f"pyshtrih: document {number} differs from the ФН's")
            lap()
        finally:
            device.disconnect()
    return work


MAKERS: dict[str, Callable[[str, list[bytes]], Work]] = {
    "shtrih": shtrih_client, "pyshtrih": pyshtrih_client, "atol": atol_client}


# --- the line's floor: a driver's bytes replayed by a client that does nothing else


#: a replayed step: the bytes the driver wrote, and how many it read before its next write
Step = tuple[bytes, int]
#: how long the bare client waits for a byte before it calls the replay broken
FLOOR_TIMEOUT = 5.0


@dataclass(frozen=True)
class Script:
    """A driver's traffic while it read the documents (no open, no close)."""

    steps: tuple[Step, ...]
    answers: bytes  # every byte the driver read, in order

    @property
    def round_trips(self) -> int:
        """Writes that waited for an answer (an ACK written alone waits for none)."""
        return sum(1 for _data, reply in self.steps if reply)


class NotingPort:
    """A pyserial port that tells ``note`` of each write (as it starts) and of each read
    that returned bytes; everything else goes to the port. ``tools/trace_read.py`` notes
    the moments, this module the bytes."""

    def __init__(self, port: Any, note: Callable[[str, bytes], None]) -> None:
        self._port = port
        self._note = note

    @property
    def timeout(self) -> float | None:
        return self._port.timeout  # type: ignore[no-any-return]

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._port.timeout = value

    def read(self, size: int = 1) -> bytes:
        data: bytes = self._port.read(size)
        if data:
            self._note("R", data)
        return data

    def write(self, data: bytes, /) -> int | None:
        self._note("W", bytes(data))
        return self._port.write(data)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)


class RecordingPort(NotingPort):
    """A pyserial port that notes what the driver writes and what its reads return."""

    def __init__(self, port: Any, events: list[tuple[str, bytes]]) -> None:
        super().__init__(port, lambda kind, data: events.append((kind, data)))


def script_of(events: Sequence[tuple[str, bytes]]) -> Script:
    """The steps of a recorded exchange: each write, then the bytes read before the next."""
    steps: list[list[Any]] = []
    answers = bytearray()
    for kind, data in events:
        if kind == "W":
            steps.append([data, 0])
        elif steps:  # bytes before the first write are the open's, not the documents'
            steps[-1][1] += len(data)
            answers += data
    return Script(tuple((data, reply) for data, reply in steps), bytes(answers))


def record(protocol: str, state: Path, stored: list[bytes], line: str,
           options: Sequence[str]) -> Script:
    """The ``protocol`` driver's bytes for the documents, over ``line`` of an unpaced
    emulator in this process serving a copy of ``state`` (seconds, where the paced line
    takes minutes: the bytes a command takes do not depend on the pace; the replay checks
    they match)."""
    from kkt_bridge.cli.emulator import link_option_values
    from kkt_bridge.emulation import Emulator

    copy = state.with_name(f"record-{line}-{state.name}")
    for suffix in ("", ".archive"):  # the state and the ФН archive beside it
        if state.with_name(state.name + suffix).exists():
            shutil.copyfile(state.with_name(state.name + suffix),
                            copy.with_name(copy.name + suffix))
    events: list[tuple[str, bytes]] = []
    link_options: dict[str, Any] = link_option_values(tuple(options))
    with Emulator(get_emulator(protocol), pty=line == "pty",
                  tcp=0 if line == "tcp" else None, state_path=copy,
                  **link_options) as emu:
        url = emu.pty_path if line == "pty" else emu.tcp_url
        assert url is not None
        with opened(protocol, url) as kkt:
            transport = kkt.transport
            port = transport.port
            transport.port = RecordingPort(port, events)
            try:
                for number, data in kkt.iter_documents(1, len(stored)):
                    if data != stored[number - 1]:
                        raise SystemExit(f"floor: {protocol} document {number} differs "
                                         f"from the ФН's")
            finally:
                transport.port = port
    return script_of(events)


def floor_client(url: str, script: Script) -> Work:
    """The bare line: ``script`` replayed over ``url`` (the pty in raw mode, or a TCP socket
    with TCP_NODELAY, as the driver opens them), each write then a read of exactly the
    bytes the driver read, into one buffer: no framing, no check until the end."""
    steps = script.steps

    def work(lap: Lap) -> None:
        buffer = bytearray(len(script.answers))
        view = memoryview(buffer)
        at = 0
        if url.startswith("socket://"):
            host, port = url.removeprefix("socket://").rsplit(":", 1)
            sock = socket.create_connection((host, int(port)), timeout=FLOOR_TIMEOUT)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                send, receive = sock.sendall, sock.recv_into
                lap()
                for data, reply in steps:
                    send(data)
                    end = at + reply
                    while at < end:
                        got = receive(view[at:end])
                        if not got:
                            raise SystemExit("floor: the emulator closed the socket")
                        at += got
                lap()
            except TimeoutError:
                raise SystemExit(f"floor: no answer within {FLOOR_TIMEOUT} s after "
                                 f"{at} bytes: the replay left the driver's path") from None
            finally:
                sock.close()
        else:
            fd = os.open(url, os.O_RDWR | os.O_NOCTTY)
            try:
                tty.setraw(fd)
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                wait, write, readv = int(FLOOR_TIMEOUT * 1000), os.write, os.readv
                lap()
                for data, reply in steps:
                    if write(fd, data) != len(data):
                        raise SystemExit("floor: the pty took a write in part")
                    end = at + reply
                    while at < end:
                        if not poller.poll(wait):
                            raise SystemExit(
                                f"floor: no answer within {FLOOR_TIMEOUT} s after {at} "
                                f"bytes: the replay left the driver's path")
                        at += readv(fd, [view[at:end]])
                lap()
            finally:
                os.close(fd)
        if buffer != script.answers:
            differ = sum(1 for a, b in zip(buffer, script.answers, strict=True) if a != b)
            raise SystemExit(f"floor: {differ} answer bytes differ from the driver's")
    return work


def line_counters(control: str, url: str) -> tuple[int, int, float, int]:
    """The counters of the emulator's line at ``url``, and the process's CPU seconds."""
    status = call(control, "status", {})
    line = next(one for one in status["lines"] if one["url"] == url)
    return line["bytes_in"], line["bytes_out"], status["cpu_seconds"], line["wakeups"]


def measured(served: Served, line: str, name: str, baud: int, work: Work) -> Run:
    url = served.urls[line]
    # (when the lap began, how long its call to the control API took, the counters)
    laps: list[tuple[float, float, tuple[int, int, float, int]]] = []

    def lap() -> None:
        at = time.perf_counter()
        counters = line_counters(served.control, url)
        laps.append((at, time.perf_counter() - at, counters))

    before = line_counters(served.control, url)
    started = time.perf_counter()
    work(lap)
    # the laps' own calls are not the client's time
    seconds = time.perf_counter() - started - sum(took for _at, took, _c in laps)
    time.sleep(0.05)  # let the last ACK reach the counters
    after = line_counters(served.control, url)
    if len(laps) != 2:
        raise SystemExit(f"{name}: the client marked {len(laps)} laps, not 2")
    (opened, took, first), (done, _took, last) = laps
    return Run(f"{name}/{line}", len(served.stored), seconds, after[0] - before[0],
               after[1] - before[1], after[2] - before[2], after[3] - before[3],
               os.getloadavg()[0], baud, done - opened - took,
               last[0] + last[1] - first[0] - first[1])


# --- a busy core ----------------------------------------------------------------------------

#: spins until its parent is gone or its time cap passes, whichever comes first
_BUSY = """
import os, sys, time
parent, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < end and os.getppid() == parent:
    stop = time.monotonic() + 0.05
    while time.monotonic() < stop:
        pass
"""


@contextmanager
def busy_core(cap: float) -> Iterator[None]:
    proc = subprocess.Popen([sys.executable, "-c", _BUSY, str(os.getpid()), str(cap)])
    try:
        time.sleep(0.5)  # let it take its core before the first run
        yield
    finally:
        proc.terminate()
        proc.wait(10)


# --- one table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    title: str
    target: float  # wall / wire of the project's drivers
    runs: list[Run]
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float]
    policy: str  # the idle policy in force (cpu_latency.idle_policy)
    #: (protocol, line) -> what its bare line replayed (--floor), for the round trips
    scripts: dict[tuple[str, str], Script]


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


def pairs(lines: Sequence[str], clients: Sequence[str]) -> list[tuple[str, str]]:
    """(line, client) of every client on every line it can read over."""
    return [(line, name) for line in lines for name in clients if (name, line) not in UNFIT]


def measure(title: str, target: float, clients: Sequence[str], lines: Sequence[str],
            served: dict[str, Served], baud: int, repeats: int, *,
            scripts: dict[tuple[str, str], Script] | None = None,
            policies: Sequence[int | None] = (None,)) -> list[Table]:
    """Every (line, client) ``repeats`` times, and the bare line of ``scripts`` beside
    them; once under each idle policy of ``policies`` (None: no PM QoS request, else its
    microseconds), the policies alternating from repeat to repeat (an A/B on a machine
    whose load drifts), a table each."""
    scripts = scripts or {}
    floors = {name: protocol for protocol, name in FLOORS.items()}
    runners = pairs(lines, clients) + [(line, FLOORS[protocol]) for line in lines
                                       for protocol in DRIVERS if (protocol, line) in scripts]
    works = {(line, name): MAKERS[name](served[CLIENTS[name]].urls[line],
                                        served[CLIENTS[name]].stored)
             for line, name in runners if name not in floors}
    for (protocol, line), script in scripts.items():
        works[line, FLOORS[protocol]] = floor_client(served[protocol].urls[line], script)
    start = os.getloadavg()
    said = {policy: idle_policy(policy) for policy in policies}
    print(f"\n== {title}: load average (1, 5, 15 min) {_load(start)} on "
          f"{os.cpu_count()} cores", flush=True)
    for policy in policies:
        print(f"   {tag(policy)}: {said[policy]}")
    runs: dict[int | None, list[Run]] = {policy: [] for policy in policies}
    for repeat in range(repeats):
        for policy in order(policies, repeat):
            with cpu_latency(policy) if policy is not None else nullcontext():
                for line, name in order(runners, repeat):
                    protocol = floors[name] if name in floors else CLIENTS[name]
                    run = measured(served[protocol], line, name, baud, works[line, name])
                    runs[policy].append(run)
                    print(f"#{repeat + 1} {tag(policy):<11} {run.line()}", flush=True)
    end = os.getloadavg()
    return [Table(titled(title, policy), target, runs[policy], start, end, said[policy],
                  dict(scripts)) for policy in policies]


def tag(latency_us: int | None) -> str:
    """A run's idle policy, short, for its line."""
    return "default" if latency_us is None else f"PM QoS {latency_us}"


def summary(table: Table, clients: Sequence[str], lines: Sequence[str]) -> None:
    runs = table.runs
    print(f"-- {table.title}, medians; load average (1, 5, 15 min) at the start "
          f"{_load(table.load_start)}, at the end {_load(table.load_end)}")
    print(f"   {table.policy}")
    for line in lines:
        for name in clients:
            if (name, line) in UNFIT:
                print(f"  ({UNFIT[name, line]})")
                continue
            med = median_run([run for run in runs if run.name == f"{name}/{line}"])
            print(f"median    {med.line()}  "
                  f"({(med.bytes_in + med.bytes_out) / med.documents:.1f} wire bytes/doc)")
            if name != "pyshtrih":
                print(f"  target {name}/{line} wall/wire {mark(med.ratio, table.target)}; "
                      f"documents only {mark(med.read_ratio, table.target)}")
        for protocol in DRIVERS:
            if (protocol, line) in table.scripts:
                floor_summary(table, protocol, line, protocol in clients)
        if "shtrih" in clients and "pyshtrih" in clients and ("pyshtrih", line) not in UNFIT:
            ours = [run.seconds for run in runs if run.name == f"shtrih/{line}"]
            theirs = [run.seconds for run in runs if run.name == f"pyshtrih/{line}"]
            ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
            print(f"kkt-bridge / pyshtrih wall time per repeat ({line}): "
                  f"{', '.join(f'{r:.3f}' for r in ratios)}")
            middle = statistics.median(ratios)
            print(f"  target kkt-bridge / pyshtrih median ({line}) "
                  f"{mark(middle, PYSHTRIH_TARGET)}")


def floor_summary(table: Table, protocol: str, line: str, with_driver: bool) -> None:
    """The bare line's median for ``protocol``'s bytes, and its driver's excess over it
    (documents only)."""
    floor = median_run([run for run in table.runs
                        if run.name == f"{FLOORS[protocol]}/{line}"])
    trips = table.scripts[protocol, line].round_trips
    print(f"median    {floor.line()}  ({trips / floor.documents:.1f} round trips/doc)")
    beyond = (floor.read_seconds - floor.read_bytes * BITS_PER_BYTE / floor.baud) / trips
    print(f"  the line's floor ({protocol}, {line}): documents wall/wire "
          f"{floor.read_ratio:.3f}, {beyond * 1e6:.1f} us a round trip beyond the wire")
    if not with_driver:
        return
    ours = median_run([run for run in table.runs if run.name == f"{protocol}/{line}"])
    if ours.read_bytes != floor.read_bytes:
        print(f"  (the driver's documents took {ours.read_bytes} bytes, the replay "
              f"{floor.read_bytes}: the driver's path differed from the recorded one)")
    excess = (ours.read_seconds - floor.read_seconds) / trips * 1e6
    print(f"  {protocol}/{line} documents: bridge {ours.read_ratio:.3f}, line's floor "
          f"{floor.read_ratio:.3f}, bridge over the floor {ours.read_ratio / floor.read_ratio:.3f}"
          f" ({excess:+.1f} us a round trip)")


def titled(title: str, latency_us: int | None) -> str:
    return title if latency_us is None else f"{title}, PM QoS {latency_us} us"


def parse_lines(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in LINES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"lines are {', '.join(LINES)}; not {', '.join(unknown) or 'none'}")
    return list(dict.fromkeys(names))


def parse_clients(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CLIENTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"clients are {', '.join(CLIENTS)}; not {', '.join(unknown) or 'none'}")
    return list(dict.fromkeys(names))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", type=parse_clients, default=list(CLIENTS),
                        help="clients to run, of shtrih,pyshtrih,atol (all by default)")
    parser.add_argument("--line", type=parse_lines, default=list(LINES),
                        help="the emulator's lines to read over, of pty,tcp (both by "
                             "default, served by the same emulator process)")
    parser.add_argument("--busy", action="store_true",
                        help="measure a second time with one core kept busy")
    parser.add_argument("--busy-cap", type=float, default=BUSY_CAP,
                        help="seconds after which the busy process stops by itself")
    parser.add_argument("--atol-results", choices=("async", "sync"), default="async",
                        help="how the emulated ATOL register returns results (atol.md §9 q. 1)")
    parser.add_argument("--atol-ack-add", action="store_true",
                        help="acknowledge each ATOL result inside the next ADD (C5, [?]: the "
                             "emulator is told to take it)")
    parser.add_argument("--stray-ff", action="store_true",
                        help="the Shtrih emulator's TCP line sends a network register's stray "
                             "0xFF after the host's ACK (wire time then counts a byte that "
                             "overlaps the next request; pyshtrih reads over the pty only)")
    parser.add_argument("--floor", action="store_true",
                        help="beside the clients, a bare client per driver replays that "
                             "driver's bytes over the same lines of the same emulator: the "
                             "line's own wall / wire, and the driver's excess over it")
    parser.add_argument("--cpu-latency-us", type=int, default=None, metavar="N",
                        help="measure every table a second time, interleaved, while a PM QoS "
                             "request of N us is held on /dev/cpu_dma_latency (0: idle CPUs "
                             "poll instead of halting; needs root; costs idle CPU while held)")
    args = parser.parse_args(argv)
    clients: list[str] = args.only
    lines: list[str] = args.line
    policies: list[int | None] = [None]
    if args.cpu_latency_us is not None:
        try:  # refuse before the archives are made, not after
            with cpu_latency(args.cpu_latency_us):
                pass
        except KktBridgeError as exc:
            parser.error(f"--cpu-latency-us: {exc}")
        policies.append(args.cpu_latency_us)
    UNFIT.clear()
    if args.stray_ff:
        UNFIT.update(STRAY_FF_UNFIT)
    if not pairs(lines, clients):
        parser.error("; ".join(UNFIT[name, line] for line in lines for name in clients))
    protocols = list(dict.fromkeys(CLIENTS[name] for line, name in pairs(lines, clients)))
    # each driver measured gets its own line's floor; pyshtrih the Shtrih driver's
    floored = [protocol for protocol in DRIVERS
               if protocol in clients or (protocol == "shtrih" and "pyshtrih" in clients)]
    if args.floor:
        protocols += [protocol for protocol in floored if protocol not in protocols]
    options: dict[str, list[str]] = {"shtrih": [f"stray_ff={int(args.stray_ff)}"],
                                     "atol": [f"results={args.atol_results}"]}
    ATOL_OPTIONS.clear()
    if args.atol_ack_add:
        options["atol"].append("accept_ack_add=1")
        ATOL_OPTIONS["ack_add"] = True
    with tempfile.TemporaryDirectory(prefix="kkt-bench-read-") as tmp:
        served: dict[str, Served] = {}
        scripts: dict[tuple[str, str], Script] = {}
        try:
            for protocol in protocols:
                state = Path(tmp) / f"{protocol}.json"
                started = time.perf_counter()
                stored = fill(protocol, state, args.documents)
                served[protocol] = serve(protocol, state, stored, args.baud,
                                         options[protocol], lines)
                print(f"{protocol} archive: {len(stored)} documents, "
                      f"{sum(map(len, stored))} bytes (made in "
                      f"{time.perf_counter() - started:.1f} s through the register's API)")
                if protocol in floored and args.floor:
                    started = time.perf_counter()
                    for line in lines:
                        scripts[protocol, line] = record(protocol, state, stored, line,
                                                         options[protocol])
                    counts = ", ".join(
                        f"{line} {len(scripts[protocol, line].steps)} writes, "
                        f"{scripts[protocol, line].round_trips} round trips" for line in lines)
                    print(f"floor: the {protocol} driver's bytes recorded over an unpaced "
                          f"emulator ({counts}; {time.perf_counter() - started:.1f} s)")
            print(f"lines: {', '.join(lines)} paced at {args.baud} baud, 8N1 ({BITS_PER_BYTE} "
                  f"bits a byte); each emulator in its own process; {args.repeats} repeats, "
                  f"the runs' order alternating; ATOL results {args.atol_results}"
                  f"{', C5 ACK_ADD' if args.atol_ack_add else ''}; Shtrih over TCP "
                  f"{'with' if args.stray_ff else 'without'} the stray 0xFF after ACK")
            for line in lines:
                for name in clients:
                    if (name, line) in UNFIT:
                        print(f"  ({UNFIT[name, line]})")
            tables = measure("quiet", QUIET_TARGET, clients, lines, served, args.baud,
                             args.repeats, scripts=scripts, policies=policies)
            if args.busy:
                with busy_core(args.busy_cap):
                    tables += measure("one core busy", BUSY_TARGET, clients, lines, served,
                                      args.baud, args.repeats, scripts=scripts,
                                      policies=policies)
        finally:
            for one in served.values():
                one.proc.terminate()
                one.proc.wait(10)
    print()
    for table in tables:
        summary(table, clients, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
