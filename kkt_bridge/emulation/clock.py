"""The emulated register's clock.

A real register keeps its own wall clock (local time, no time zone), which may drift from the
host's. Tests inject a :class:`ManualClock` to pass 24 hours without waiting.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class RegisterClock(Protocol):
    """The register's own wall clock: naive local time, as a ККТ keeps it (not the
    scheduler's POSIX seconds, :class:`~kkt_bridge.bridge.clock.SchedulerClock`)."""

    def now(self) -> datetime:
        """Local wall-clock time, naive (the register knows no time zone)."""
        ...


class SystemClock:
    """The host's local time."""

    def now(self) -> datetime:
        return datetime.now().replace(microsecond=0)


class ManualClock:
    """A clock that moves only when told to; thread-safe, since the link thread reads it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime(2026, 1, 15, 9, 0, 0)).replace(microsecond=0, tzinfo=None)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.replace(microsecond=0, tzinfo=None)

