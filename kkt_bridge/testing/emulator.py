"""The ``kkt_emulator`` fixtures: an emulated register on a real pty and TCP port.

Registered for every pytest run by the package's ``pytest11`` entry point, so cash-software
tests get a register with ``pip install kkt-bridge``::

    def test_my_till(kkt_emulator):
        till = MyTill(port=kkt_emulator.pty_path)       # or kkt_emulator.tcp_url
        till.sell("Хлеб", 4990)
        assert len(kkt_emulator.archive()) == 2         # registration + receipt
        kkt_emulator.clock.advance(timedelta(hours=25))  # the shift is now over 24 h

    def test_noisy_line(kkt_emulator_factory):
        emu = kkt_emulator_factory(baud=9600, faults="corrupt=0.01", seed=1)

    def test_another_protocol(kkt_emulator_factory):
        emu = kkt_emulator_factory(driver="atol")   # any installed driver with an emulator

The register starts registered from the demo profile, with a :class:`ManualClock` (it moves
only when the test moves it), TCP on a free port of 127.0.0.1; it stops at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kkt_bridge.emulation import Emulator

__all__ = ["kkt_emulator", "kkt_emulator_factory"]


@pytest.fixture
def kkt_emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators of a driver (``driver="shtrih"`` by default, or any installed driver
    that offers an emulator) with any options of :class:`kkt_bridge.emulation.Emulator`
    (``pty``, ``tcp``, ``profile``, ``registered``, ``state_path``, ``baud``,
    ``latency_ms``, ``faults``, ``seed``, and the front end's own); all of them stop at
    teardown. An unknown driver, or one without an emulator, fails with PluginError."""
    # imported here: a test session that never asks for an emulator pays nothing for it
    from kkt_bridge.driverapi import DEFAULT_DRIVER, get_emulator
    from kkt_bridge.emulation import Emulator, ManualClock

    started: list[Emulator] = []

    def make(driver: str = DEFAULT_DRIVER, **options: Any) -> Emulator:
        front_end = get_emulator(driver)
        options.setdefault("tcp", 0)
        if "device" not in options:
            options.setdefault("clock", ManualClock())
        emu = Emulator(front_end, **options).start()
        started.append(emu)
        return emu

    try:
        yield make
    finally:
        for emu in reversed(started):
            emu.stop()


@pytest.fixture
def kkt_emulator(kkt_emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A started emulator on a pty and on TCP (127.0.0.1, free port), with a ManualClock."""
    return kkt_emulator_factory()
