"""tools/trace_read.py: a round trip's segments from both ends' events, a write alone (the
ACK at a document's end) joining the next request, and a tiny traced read of each driver (no
timing is asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"


@pytest.fixture(scope="module")
def trace() -> ModuleType:
    sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location("trace_read", TOOLS / "trace_read.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["trace_read"] = module
    spec.loader.exec_module(module)
    return module


def _round_trip(start: float, *, alone: bool = False) -> tuple[list, list]:
    """One request (after a write alone when ``alone``) and its two-piece answer, in us
    from ``start``: 10 bytes in, 2 + 3 out, at a byte time of 1 us."""
    us = 1e-6
    host = [(start, "W", 4)] if alone else []
    at = start + (50 * us if alone else 0)
    host += [(at, "W", 10), (at + 30 * us, "R", 2), (at + 44 * us, "R", 3)]
    emu = [(at + 5 * us, "r", 10 + (4 if alone else 0)), (at + 20 * us, "d", 2),
           (at + 21 * us, "w", 2), (at + 35 * us, "d", 3), (at + 37 * us, "w", 3)]
    return host, emu


def test_segments_of_round_trips_with_a_write_alone_between_documents(
        trace: ModuleType) -> None:
    host: list = []
    emu: list = []
    start = 1.0
    # five requests to skip (the open), then three measured and one to end the last
    for number in range(9):
        one_host, one_emu = _round_trip(start, alone=number == 7)
        host += one_host
        emu += one_emu
        start += 100e-6
    table = trace.segments(host, emu, 1e-6)
    assert len(table["sum"]) == 3
    assert table["host reads"] == [2, 2, 2] and table["emu writes"] == [2, 2, 2]
    rounded = {name: [round(value, 3) for value in values] for name, values in table.items()}
    assert rounded["host write -> emu read"] == [5.0, 5.0, 5.0]
    # the last due at 35 us, read at 5 us, wire 15 us (10 in, 5 out)
    assert rounded["emu read -> last due - wire"] == [15.0, 15.0, 15.0]
    assert rounded["last due -> emu write"] == [2.0, 2.0, 2.0]
    assert rounded["emu write -> host read"] == [7.0, 7.0, 7.0]
    # the driver's reaction ends at its first write, the write alone included; what it
    # does between that write and the request it joins (50 us) is the request's own row
    assert rounded["host read -> host write"] == [56.0, 56.0, 6.0]
    assert rounded["host write -> last host write"] == [0.0, 0.0, 50.0]
    assert rounded["sum"] == [85.0, 85.0, 85.0]
    # wall - wire counts the write alone's bytes as wire, as bench_read does
    assert rounded["wall - wire"] == [85.0, 85.0, 81.0]


@pytest.mark.slow
@pytest.mark.parametrize(("driver", "line"), [("shtrih", "pty"), ("atol", "pty"),
                                              ("atol", "tcp")])  # tcp: read on its socket
def test_a_traced_read_prints_the_segments_of_either_driver(
        trace: ModuleType, driver: str, line: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert trace.main(["--driver", driver, "--documents", "2", "--line", line]) == 0
    out = capsys.readouterr().out
    assert f"{driver}/{line}: 2 documents" in out, out
    for name in (*trace.SEGMENTS, "wall - wire", *trace.COUNTS):
        assert f"  {name} " in out, out
