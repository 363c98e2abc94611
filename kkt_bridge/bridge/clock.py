"""Time as the scheduler sees it: the system clock, or one the tests move by hand."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class SchedulerClock(Protocol):
    """The scheduler's time: POSIX seconds, and a wait that a stop cuts short (not the
    register's naive wall clock, :class:`~kkt_bridge.emulation.clock.RegisterClock`)."""

    def now(self) -> float:
        """POSIX seconds."""
        ...

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait up to ``seconds`` or until ``stop`` is set; True when stopped."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told: ``wait`` advances it instead of sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.waits: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        if stop.is_set():
            return True
        self.advance(max(0.0, seconds))
        return stop.is_set()
