"""The Python API and the pytest fixtures, on the real emulated device."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.drivers.shtrih.emulator.faults import FaultSpec
from kkt_bridge.emulation.clock import ManualClock


def test_the_fixture_gives_pty_and_tcp_and_a_manual_clock(kkt_emulator: Emulator) -> None:
    assert kkt_emulator.pty_path and kkt_emulator.tcp_url
    assert kkt_emulator.tcp_url.startswith("socket://127.0.0.1:")
    assert not kkt_emulator.tcp_url.endswith(":7778"), "tests never take the fixed port"
    clock = kkt_emulator.clock
    assert isinstance(clock, ManualClock)
    before = clock.now()
    clock.advance(timedelta(hours=25))
    assert clock.now() - before == timedelta(hours=25)
    assert len(kkt_emulator.archive()) == 1, "registered from the demo profile"


def test_the_factory_passes_options(kkt_emulator_factory: Callable[..., Emulator]) -> None:
    fresh = kkt_emulator_factory(registered=False, pty=False, baud=9600, latency_ms=5)
    assert fresh.pty_path is None and fresh.tcp_url
    assert fresh.archive() == []
    assert fresh.faults == FaultSpec(baud=9600, latency_ms=5)


def test_inject_builds_on_the_started_line(kkt_emulator_factory: Callable[..., Emulator]) -> None:
    emu = kkt_emulator_factory(baud=115200, faults="nak=0.5")
    assert emu.faults == FaultSpec(baud=115200, nak=0.5)
    assert emu.inject("latency=20,drop=0.1") == FaultSpec(baud=115200, latency_ms=20,
                                                         drop_in=0.1, drop_out=0.1)
    emu.clear_faults()
    assert emu.faults == FaultSpec(baud=115200)


def test_delegates_to_the_device(kkt_emulator: Emulator) -> None:
    kkt_emulator.open_shift()
    result = kkt_emulator.sell([("Хлеб", 4990)])
    assert kkt_emulator.archive()[-1] == result.document
    kkt_emulator.close_shift()
    assert len(kkt_emulator.archive()) == 4


def test_state_is_kept_across_a_restart(kkt_emulator_factory: Callable[..., Emulator],
                                        tmp_path: Path) -> None:
    state = tmp_path / "kkt.json"
    first = kkt_emulator_factory(state_path=state)
    first.open_shift()
    first.stop()
    assert state.exists()
    again = kkt_emulator_factory(state_path=state)
    assert again.archive() == first.archive()


def test_paper_out_is_a_device_fault(kkt_emulator: Emulator) -> None:
    device = kkt_emulator.device
    kkt_emulator.inject("paper_out")
    assert device.faults.paper_out
    kkt_emulator.inject("nak=0.1")
    assert device.faults.paper_out, "only paper_out=0 or clear_faults puts the paper back"
    kkt_emulator.clear_faults()
    assert not device.faults.paper_out
