"""The ``kkt_emulator`` fixtures: an emulated Shtrih-M register on a real pty and TCP port.

Registered for every pytest run by the package's ``pytest11`` entry point, so cash-software
tests get a register with ``pip install kkt-bridge``::

    def test_my_till(kkt_emulator):
        till = MyTill(port=kkt_emulator.pty_path)       # or kkt_emulator.tcp_url
        till.sell("Хлеб", 4990)
        assert len(kkt_emulator.archive()) == 2         # registration + receipt
        kkt_emulator.clock.advance(timedelta(hours=25))  # the shift is now over 24 h

    def test_noisy_line(kkt_emulator_factory):
        emu = kkt_emulator_factory(baud=9600, faults="corrupt=0.01", seed=1)

The register starts registered from the demo profile, with a :class:`ManualClock` (it moves
only when the test moves it), TCP on a free port of 127.0.0.1; it stops at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kkt_bridge.drivers.shtrih.emulator.api import Emulator

__all__ = ["kkt_emulator", "kkt_emulator_factory"]


@pytest.fixture
def kkt_emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with any options of ``Emulator`` (``pty``, ``tcp``, ``profile``,
    ``registered``, ``state_path``, ``baud``, ``latency_ms``, ``faults``, ``seed``...);
    all of them stop at teardown."""
    # imported here: a test session that never asks for an emulator pays nothing for it
    from kkt_bridge.drivers.shtrih.emulator.api import Emulator
    from kkt_bridge.drivers.shtrih.emulator.clock import ManualClock

    started: list[Emulator] = []

    def make(**options: Any) -> Emulator:
        options.setdefault("tcp", 0)
        if "device" not in options:
            options.setdefault("clock", ManualClock())
        emu = Emulator(**options).start()
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
