"""The driver's transport wired to the emulator's link on one virtual clock, in process.

:class:`LinkedPort` is a pyserial-like port whose other end is an
:class:`~kkt_bridge.drivers.atol.emulator.link.AtolLink` over a real
:class:`~kkt_bridge.drivers.atol.emulator.register.AtolRegister` with the kit's seeded
faults. Time moves only when the host waits (a read that finds nothing advances the clock to
the link's next deadline or by the read's timeout), so a run under faults is the same run
every time for a given seed, and thousands of tasks take a second, not a paced line's
minutes.
"""

from __future__ import annotations

from typing import Any

from kkt_bridge.drivers.atol.emulator.frontend import make_link
from kkt_bridge.drivers.atol.emulator.register import AtolRegister
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.emulation.faults import FaultInjector, parse_faults


def filled_register(documents: int) -> AtolRegister:
    """A register with ``documents`` fiscal documents in its archive (receipts of two lines,
    shifts of up to 20 receipts)."""
    register = AtolRegister(clock=ManualClock(), seed=1)
    sold = 0
    while len(register.archive()) < documents:
        register.open_shift()
        for _ in range(20):
            if len(register.archive()) >= documents - 1:
                break
            sold += 1
            register.sell([(f"Товар {sold}", 100 + sold), ("Пакет", 500)])
        register.close_shift()
    return register


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class LinkedPort:
    """The host's port; the register answers on the same virtual clock."""

    def __init__(self, register: AtolRegister, *, faults: str = "", seed: int = 0,
                 options: dict[str, Any] | None = None) -> None:
        self.clock = VirtualClock()
        self.injector = FaultInjector(parse_faults(faults), seed=seed)
        self.link = make_link(register, self.injector, "pty", options or {})
        self.timeout: float | None = 0.05
        self._inbound = bytearray()
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        self.link.receive(bytes(data), self.clock.now)
        self._pump()
        return len(data)

    def _pump(self) -> None:
        self._inbound += self.link.poll(self.clock.now)

    def read(self, size: int = 1) -> bytes:
        self._pump()
        if not self._inbound:
            wait = self.timeout or 0.05
            due = self.link.next_deadline()
            if due is not None and due > self.clock.now:
                wait = min(wait, due - self.clock.now)
            self.clock.now += max(wait, 1e-6)
            self._pump()
            if not self._inbound:
                return b""
        out = bytes(self._inbound[:size])
        del self._inbound[:size]
        return out

    @property
    def in_waiting(self) -> int:
        return len(self._inbound)

    def close(self) -> None:
        pass
