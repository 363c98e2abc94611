#!/usr/bin/env python3
"""CPU cost of one Shtrih-M command round trip, against the wire time of its bytes.

The register is an in-memory loopback that answers from prebuilt bytes (NAK to ENQ, ACK and
the answer frame to a frame), so only the host's own work is measured: building the request,
the handshake, reading and checking the answer, parsing it with the declarations. The wire
time is what the same bytes take at 115200 baud, 10 bits per byte (8N1). Target: < 2 %.

    .venv/bin/python tools/bench_driver.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands import fn as fn_cmds
from kkt_bridge.drivers.shtrih.commands import status as status_cmds
from kkt_bridge.drivers.shtrih.driver import ShtrihKkt
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK, STX, build_frame

BAUD = 115200
BITS_PER_BYTE = 10


class Loopback:
    """A pyserial-like port whose device answers every frame with one prebuilt answer."""

    def __init__(self, answer_frame: bytes) -> None:
        self.timeout: float | None = 0.05
        self._answer = bytes([ACK]) + answer_frame
        self._pending = b""
        self.wire = 0  # bytes both ways

    def write(self, data: bytes) -> int:
        self.wire += len(data)
        first = data[0]
        if first == ENQ:
            self._pending += bytes([NAK])
        elif first == STX:
            self._pending += self._answer
        return len(data)

    def read(self, size: int = 1) -> bytes:
        out, self._pending = self._pending[:size], self._pending[size:]
        self.wire += len(out)
        return out

    def close(self) -> None:
        pass


@dataclass
class Case:
    name: str
    command: Command
    request: dict[str, Any]
    answer: dict[str, Any]


CASES = [
    Case("0x10 short status", status_cmds.SHORT_STATUS, {},
         {"operator": 30, "flags": 0x292, "mode": 2, "submode": 0, "operations_low": 0,
          "battery_voltage": 0x9F, "power_voltage": 0xE5, "fp_error": 0, "eklz_error": 0,
          "operations_high": 0, "reserved": bytes(3), "print_result": None}),
    Case("0x11 full status", status_cmds.FULL_STATUS, {},
         {"operator": 1, "firmware_version": b"C1", "firmware_build": 1234,
          "firmware_date": date(2023, 1, 2), "hall_number": 1, "document_number": 5,
          "flags": 0, "mode": 2, "submode": 0, "port": 0, "fp_version": b"C1", "fp_build": 1,
          "fp_date": date(2023, 1, 2), "date": date(2024, 5, 20), "time": dtime(12, 30, 5),
          "fp_flags": 0, "serial": 12345678, "last_closed_shift": 3, "free_records": 100,
          "registrations": 1, "registrations_left": 11, "inn": 7701234567}),
    Case("FF01 ФН status", fn_cmds.FN_STATUS, {},
         {"lifecycle": 3, "current_document": 0, "document_data": 0, "shift_open": 1,
          "warnings": 0, "last_document_at": datetime(2020, 10, 6, 15, 31),
          "fn_number": "9281000100007442", "last_fd_number": 11840}),
    Case("FF0A find document", fn_cmds.FIND_DOCUMENT, {"fd_number": 163},
         {"document_type": 3, "ofd_acknowledged": 0, "created_at": datetime(2017, 3, 24, 20, 53),
          "fd_number": 163, "fiscal_sign": 0x2E4BEAEB,
          "details": {"operation": 1, "total": 20000}}),
    Case("FF3B TLV block, 200 B", fn_cmds.READ_TLV_BLOCK, {}, {"data": bytes(range(200))}),
]


def measure(case: Case, rounds: int) -> dict[str, float]:
    frame = build_frame(case.command.build_answer(**case.answer))
    port = Loopback(frame)
    kkt = ShtrihKkt.on_port(port)  # type: ignore[arg-type]
    for _ in range(50):  # warm up: compile the declarations, fill caches
        kkt.execute(case.command, **case.request)
    port.wire = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        kkt.execute(case.command, **case.request)
    cpu = (time.process_time() - cpu0) / rounds
    wall = (time.perf_counter() - wall0) / rounds
    wire_bytes = port.wire / rounds
    wire = wire_bytes * BITS_PER_BYTE / BAUD
    return {"cpu": cpu, "wall": wall, "bytes": wire_bytes, "wire": wire}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'command':24} {'bytes':>6} {'wire ms':>8} {'cpu µs':>8} {'wall µs':>8} "
          f"{'cpu/wire':>9}")
    worst = 0.0
    for case in CASES:
        r = measure(case, args.rounds)
        ratio = r["cpu"] / r["wire"]
        worst = max(worst, ratio)
        print(f"{case.name:24} {r['bytes']:6.0f} {r['wire'] * 1e3:8.3f} {r['cpu'] * 1e6:8.1f} "
              f"{r['wall'] * 1e6:8.1f} {ratio:9.2%}")
    verdict = "OK" if worst < 0.02 else "ABOVE TARGET"
    print(f"worst CPU / wire time: {worst:.2%} (target < 2%): {verdict}")


if __name__ == "__main__":
    main()
