"""tools/bench_read.py: the clients' order, the medians and targets, a busy core that stops by
itself, and a tiny run of every client against both emulators over both lines (no timing is
asserted)."""

from __future__ import annotations

import importlib.util
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


# --- the PM QoS request (--cpu-latency-us) ----------------------------------------------------


def test_the_latency_request_writes_four_bytes_and_holds_them_for_the_block(
        tmp_path: Path) -> None:
    from kkt_bridge.testing.cpu_latency import cpu_latency

    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"")
    with cpu_latency(0, device):
        # written at once (unbuffered): the kernel takes the request at write()
        assert device.read_bytes() == b"\0\0\0\0"
    with cpu_latency(20, device):
        pass
    assert device.read_bytes() == struct.pack("=i", 20)


def test_the_latency_request_is_closed_when_the_block_fails(tmp_path: Path) -> None:
    from kkt_bridge.testing import cpu_latency as module

    opened: list[object] = []
    real_open = open

    def spy(*args: object, **kwargs: object) -> object:
        handle = real_open(*args, **kwargs)  # type: ignore[call-overload]
        opened.append(handle)
        return handle

    device = tmp_path / "cpu_dma_latency"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "open", spy, raising=False)
        with pytest.raises(RuntimeError), module.cpu_latency(0, device):
            raise RuntimeError("the run failed")
    assert len(opened) == 1 and opened[0].closed  # type: ignore[attr-defined]


def test_the_latency_request_refuses_a_device_it_cannot_open(tmp_path: Path) -> None:
    from kkt_bridge.errors import ConfigError
    from kkt_bridge.i18n import using_language
    from kkt_bridge.testing.cpu_latency import cpu_latency

    device = tmp_path / "missing" / "cpu_dma_latency"
    ran = False
    with using_language("en"), pytest.raises(ConfigError) as caught, cpu_latency(0, device):
        ran = True
    assert not ran
    assert f"cannot open {device}" in str(caught.value)
    assert "root" in str(caught.value)
    with pytest.raises(ConfigError, match="не удалось открыть"), cpu_latency(0, device):
        pass


def test_the_latency_request_refuses_a_value_the_device_cannot_hold(tmp_path: Path) -> None:
    from kkt_bridge.errors import ConfigError
    from kkt_bridge.testing.cpu_latency import cpu_latency, request_bytes

    assert request_bytes(0) == b"\0\0\0\0"
    for value in (-1, 2**31):
        with pytest.raises(ConfigError), cpu_latency(value, tmp_path / "device"):
            pass
    assert not (tmp_path / "device").exists()  # refused before the file was opened


def test_the_idle_policy_names_the_states_and_the_request(tmp_path: Path) -> None:
    from kkt_bridge.testing import cpu_latency as module

    for number, (name, latency) in enumerate((("POLL", 0), ("haltpoll idle", 1), ("C6", 85))):
        state = tmp_path / "cpu0" / "cpuidle" / f"state{number}"
        state.mkdir(parents=True)
        (state / "name").write_text(name + "\n")
        (state / "latency").write_text(f"{latency}\n")
    (tmp_path / "cpuidle").mkdir()
    (tmp_path / "cpuidle" / "current_driver").write_text("haltpoll\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "CPUIDLE", tmp_path / "cpuidle")
        patch.setattr(module, "HALT_POLL_NS", tmp_path / "guest_halt_poll_ns")
        assert module.idle_states(tmp_path / "cpu0" / "cpuidle") == [
            ("POLL", 0), ("haltpoll idle", 1), ("C6", 85)]
        default = module.idle_policy(None)
        held = module.idle_policy(1)
    assert "cpuidle haltpoll [POLL 0 us, haltpoll idle 1 us, C6 85 us]" in default
    assert "no PM QoS request" in default and "guest_halt_poll_ns" not in default
    (tmp_path / "guest_halt_poll_ns").write_text("0\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "CPUIDLE", tmp_path / "cpuidle")
        patch.setattr(module, "HALT_POLL_NS", tmp_path / "guest_halt_poll_ns")
        assert "C6 85 us; guest_halt_poll_ns=0]" in module.idle_policy(None)
    assert "PM QoS request 1 us" in held and "stay in: POLL, haltpoll idle)" in held


def test_bench_read_refuses_a_latency_request_it_cannot_hold(
        bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from kkt_bridge.testing.cpu_latency import cpu_latency

    def unopenable(microseconds: int) -> object:
        return cpu_latency(microseconds, tmp_path / "missing" / "cpu_dma_latency")

    made: list[str] = []
    monkeypatch.setattr(bench, "cpu_latency", unopenable)
    monkeypatch.setattr(bench, "fill", lambda *args: made.append("archive"))
    with pytest.raises(SystemExit) as exited:
        bench.main(["--documents", "1", "--cpu-latency-us", "0"])
    assert exited.value.code == 2
    assert "--cpu-latency-us" in capsys.readouterr().err
    assert made == []  # refused before any archive was made


# --- the bare line (--floor) ------------------------------------------------------------------


def test_a_recorded_exchange_becomes_writes_and_the_bytes_read_after_each(
        bench: ModuleType) -> None:
    events = [("R", b"\x15"),  # before the first write: the open's, not a step's
              ("W", b"\x05"), ("R", b"\x15"),
              ("W", b"\x02\x05\xff\x3a"), ("R", b"\x06"), ("R", b"\x02\x03ab"),
              ("W", b"\x06"),
              ("W", b"\x02\x01c"), ("R", b"\x06\x02")]
    script = bench.script_of(events)
    assert script.steps == ((b"\x05", 1), (b"\x02\x05\xff\x3a", 5), (b"\x06", 0),
                            (b"\x02\x01c", 2))
    assert script.answers == b"\x15\x06\x02\x03ab\x06\x02"
    assert script.round_trips == 3  # the ACK alone waits for nothing


def test_the_recording_port_notes_writes_and_the_reads_that_gave_bytes(
        bench: ModuleType) -> None:
    import serial

    port = serial.serial_for_url("loop://", timeout=0.01)
    events: list[tuple[str, bytes]] = []
    recording = bench.RecordingPort(port, events)
    recording.timeout = 0.02
    assert port.timeout == 0.02
    recording.write(b"abc")
    assert recording.read(2) == b"ab" and recording.read(5) == b"c"
    assert recording.read(1) == b""  # silence is not an event
    assert events == [("W", b"abc"), ("R", b"ab"), ("R", b"c")]
    assert recording.is_open  # the rest goes to the port
    port.close()


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["shtrih", "atol"])
@pytest.mark.parametrize("line", ["pty", "tcp"])
def test_the_bare_line_replays_the_drivers_bytes_through_the_emulator(
        bench: ModuleType, tmp_path: Path, line: str, protocol: str) -> None:
    state = tmp_path / f"{protocol}.json"
    stored = bench.fill(protocol, state, 3)
    options = ["stray_ff=0"] if protocol == "shtrih" else ["results=async"]
    script = bench.record(protocol, state, stored, line, options)
    # FF3A (A4 45) and at least one FF3B (A4 46) a document
    assert script.round_trips >= 2 * len(stored)
    served = bench.serve(protocol, state, stored, 115200, options, [line])
    name = bench.FLOORS[protocol]
    try:
        driver = bench.measured(served, line, protocol, 115200,
                                bench.MAKERS[protocol](served.urls[line], stored))
        floor = bench.measured(served, line, name, 115200,
                               bench.floor_client(served.urls[line], script))
    finally:
        served.proc.terminate()
        served.proc.wait(10)
    written = sum(len(data) for data, _reply in script.steps)
    # the emulator's line counted what the replay sent and what it read, and nothing more
    assert (floor.bytes_in, floor.bytes_out) == (written, len(script.answers))
    assert floor.read_bytes == driver.read_bytes == written + len(script.answers)
    assert floor.name == f"{name}/{line}" and floor.documents == 3
    assert 0 < floor.read_seconds <= floor.seconds


def test_each_driver_measured_and_pyshtrih_get_a_floor(
        bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[str] = []

    class Stopped:  # the emulator's process, stopped at the end
        def terminate(self) -> None:
            pass

        def wait(self, timeout: float) -> int:
            return 0

    monkeypatch.setattr(bench, "fill", lambda protocol, state, documents: [b"x"])
    monkeypatch.setattr(bench, "serve", lambda protocol, *args: bench.Served(
        protocol, [b"x"], Stopped(), {}, ""))
    monkeypatch.setattr(bench, "record", lambda protocol, *args: recorded.append(protocol)
                        or bench.Script(((b"\x05", 1),), b"\x15"))
    monkeypatch.setattr(bench, "measure", lambda *args, **kwargs: [])
    for only, floors in (("atol", ["atol"]), ("pyshtrih", ["shtrih"]),
                         ("pyshtrih,atol", ["shtrih", "atol"]),
                         ("shtrih,atol", ["shtrih", "atol"])):
        recorded.clear()
        assert bench.main(["--documents", "1", "--only", only, "--line", "pty",
                           "--floor"]) == 0
        assert recorded == floors, only


@pytest.mark.slow
def test_a_floor_run_prints_the_bridge_the_floor_and_the_excess(
        bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--documents", "2", "--repeats", "1", "--only", "shtrih,atol",
                       "--line", "pty", "--floor"]) == 0
    out = capsys.readouterr().out
    assert "idle policy: " in out and "no PM QoS request" in out
    for protocol in ("shtrih", "atol"):  # each driver beside the replay of its own bytes
        assert out.count(f" floor-{protocol}/pty ") == 2, out  # the run and its median
        assert f"the line's floor ({protocol}, pty): documents wall/wire" in out, out
        assert f"{protocol}/pty documents: bridge " in out, out
    assert out.count("bridge over the floor") == 2, out
    assert "the driver's path differed" not in out, out


def test_the_idle_policies_alternate_from_repeat_to_repeat_a_table_each(
        bench: ModuleType, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    held: list[int] = []
    seen: list[tuple[str, tuple[int, ...]]] = []

    @contextmanager
    def request(microseconds: int) -> Iterator[None]:
        held.append(microseconds)
        try:
            yield
        finally:
            held.pop()

    def measured(served: object, line: str, name: str, baud: int, work: object) -> object:
        seen.append((f"{name}/{line}", tuple(held)))
        return bench.Run(f"{name}/{line}", 1, 1.0, 1, 1, 0.0, 1, 0.0, baud, 1.0, 2)

    served = {"shtrih": bench.Served("shtrih", [b"x"], None, {"pty": "/dev/null"}, "")}
    monkeypatch.setattr(bench, "cpu_latency", request)
    monkeypatch.setattr(bench, "measured", measured)
    monkeypatch.setitem(bench.MAKERS, "shtrih", lambda url, stored: None)
    tables = bench.measure("quiet", 1.05, ["shtrih"], ["pty"], served, 115200, 2,
                           policies=[None, 0])
    assert seen == [("shtrih/pty", ()), ("shtrih/pty", (0,)),   # repeat 1: A, B
                    ("shtrih/pty", (0,)), ("shtrih/pty", ())]   # repeat 2: B, A
    assert held == []  # released after each policy's runs
    assert [table.title for table in tables] == ["quiet", "quiet, PM QoS 0 us"]
    assert [len(table.runs) for table in tables] == [2, 2]
    assert "no PM QoS request" in tables[0].policy
    assert "PM QoS request 0 us" in tables[1].policy
    bench.summary(tables[1], ["shtrih"], ["pty"])
    out = capsys.readouterr().out
    assert "PM QoS request 0 us held" in out and "target shtrih/pty wall/wire" in out
