"""tools/bench_read.py: the clients' order, the medians and targets, a busy core that stops by
itself, and a tiny run of every client against both emulators over both lines (no timing is
asserted)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "bench_read.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_read", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_read"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_clients_order_alternates_between_repeats(bench: ModuleType) -> None:
    names = ["shtrih", "pyshtrih", "atol"]
    assert [bench.order(names, repeat) for repeat in range(3)] == [
        names, names[::-1], names]


def test_only_names_known_clients(bench: ModuleType) -> None:
    assert bench.parse_clients("atol, shtrih,atol") == ["atol", "shtrih"]
    with pytest.raises(Exception, match="not modbus"):
        bench.parse_clients("shtrih,modbus")


def test_only_names_known_lines(bench: ModuleType) -> None:
    assert bench.parse_lines("tcp,pty,tcp") == ["tcp", "pty"]
    with pytest.raises(Exception, match="not usb"):
        bench.parse_lines("pty,usb")


def test_a_client_unfit_for_a_line_is_left_out_of_it(bench: ModuleType) -> None:
    bench.UNFIT.clear()
    try:
        assert bench.pairs(["pty", "tcp"], ["shtrih", "pyshtrih"]) == [
            ("pty", "shtrih"), ("pty", "pyshtrih"), ("tcp", "shtrih"), ("tcp", "pyshtrih")]
        bench.UNFIT.update(bench.STRAY_FF_UNFIT)
        assert bench.pairs(["pty", "tcp"], ["shtrih", "pyshtrih"]) == [
            ("pty", "shtrih"), ("pty", "pyshtrih"), ("tcp", "shtrih")]
    finally:
        bench.UNFIT.clear()


def test_medians_are_taken_figure_by_figure(bench: ModuleType) -> None:
    runs = [bench.Run("shtrih", 10, seconds, 100 * k, 200 * k, 0.01 * k, 50 * k, 1.0, 115200,
                      seconds / 2, 150 * k)
            for k, seconds in ((1, 3.0), (3, 1.0), (2, 2.0))]
    med = bench.median_run(runs)
    assert (med.seconds, med.bytes_in, med.bytes_out, med.wakeups) == (2.0, 200, 400, 100)
    assert med.wire == pytest.approx(600 * 10 / 115200)
    # the documents alone: half the time over half the bytes
    assert (med.read_seconds, med.read_bytes) == (1.0, 300)
    assert med.read_ratio == pytest.approx(med.ratio)
    assert med.cpu_ms == pytest.approx(2.0)
    assert bench.mark(1.04, 1.05).endswith(": met")
    assert bench.mark(1.06, 1.05).endswith("NOT met")


def test_the_busy_process_stops_by_itself_after_its_cap(bench: ModuleType) -> None:
    proc = subprocess.Popen([sys.executable, "-c", bench._BUSY, str(os.getpid()),
                             "0.2"])
    try:
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_busy_process_stops_when_its_parent_is_gone(bench: ModuleType) -> None:
    # the parent: a shell that starts the busy loop (cap one hour) and exits at once
    parent = subprocess.run(
        [sys.executable, "-c",
         "import os, subprocess, sys; "
         "p = subprocess.Popen([sys.executable, '-c', sys.argv[1], str(os.getpid()), '3600']);"
         " print(p.pid)", bench._BUSY],
        capture_output=True, text=True, timeout=30, check=True)
    pid = int(parent.stdout)
    for _ in range(200):  # bounded: 20 s
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail("the busy process outlived its parent")


@pytest.mark.slow
def test_every_client_reads_its_archive_byte_for_byte(
        bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    only = "shtrih,pyshtrih,atol"
    try:
        import pyshtrih  # noqa: F401
    except ImportError:
        only = "shtrih,atol"
    assert bench.main(["--documents", "3", "--repeats", "2", "--only", only]) == 0
    out = capsys.readouterr().out
    for line in ("pty", "tcp"):
        for name in only.split(","):
            assert out.count(f" {name}/{line} ") >= 3, out  # two runs and a median
        assert f"target shtrih/{line} wall/wire" in out, out
        assert f"target atol/{line} wall/wire" in out, out
