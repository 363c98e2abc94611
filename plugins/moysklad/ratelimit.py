"""Client-side limits of the MoySklad JSON API: requests per 3 s window and parallel requests.

MoySklad answers 429 when a user exceeds 45 weight units per 3 s or 5 parallel requests,
and switches API access off after more than 200 answers of 429 a minute. So the client
must not rely on the server to push back: it spaces its own requests and keeps 429 rare.

The window is sliding (the server counts the last 3 s, not fixed buckets), and the clock
and the sleep are injected so tests drive time without waiting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

Clock = Callable[[], float]
Sleep = Callable[[float], None]

#: documented limits (md/_restrictions.md of moysklad/api-remap-1.2-doc)
WINDOW_SECONDS = 3.0
UNITS_PER_WINDOW = 45
MAX_PARALLEL = 5


class RateLimiter:
    """At most ``units`` weight units in any ``window`` seconds and ``parallel`` at once.

    ``weight`` is what one request costs: 1 for solution tokens; MoySklad charges user
    tokens 2-4 units per request (see docs/moysklad.md), so 45 units become 11-22 requests.
    """

    def __init__(self, *, units: int = UNITS_PER_WINDOW, window: float = WINDOW_SECONDS,
                 parallel: int = MAX_PARALLEL, weight: int = 1,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if weight < 1 or weight > units:
            raise ValueError("weight must be between 1 and units")
        self.units = units
        self.window = window
        self.weight = weight
        self.clock = clock
        self.sleep = sleep
        self._stamps: deque[float] = deque()  # one entry per unit spent
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(parallel)
        self._paused_until = 0.0

    def pause_until(self, moment: float) -> None:
        """The server said to wait (429): nobody sends before ``moment``."""
        with self._lock:
            self._paused_until = max(self._paused_until, moment)

    def _reserve(self) -> float:
        """Spend the units now if the window allows; else return how long to wait."""
        with self._lock:
            now = self.clock()
            while self._stamps and self._stamps[0] <= now - self.window:
                self._stamps.popleft()
            if now < self._paused_until:
                return self._paused_until - now
            if len(self._stamps) + self.weight <= self.units:
                self._stamps.extend([now] * self.weight)
                return 0.0
            # the unit that must expire before ours fits
            oldest_needed = self._stamps[len(self._stamps) + self.weight - self.units - 1]
            return max(oldest_needed + self.window - now, 1e-3)

    def acquire(self) -> None:
        # bounded: each wait ends when a stamp leaves the window or the pause ends
        for _ in range(100_000):
            delay = self._reserve()
            if delay <= 0.0:
                return
            self.sleep(delay)
        raise RuntimeError("rate limiter could not reserve a slot")  # pragma: no cover

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the parallel slots and spend one request's units."""
        with self._slots:
            self.acquire()
            yield


def user_token_weight(today: date) -> int:
    """Units one request with a user token (or login/password) costs, by the schedule in
    md/_restrictions.md: 2 from 2026-05-12, 3 from 2026-09-01, 4 from 2026-12-01.
    Solution tokens stay at 1."""
    if today >= date(2026, 12, 1):
        return 4
    if today >= date(2026, 9, 1):
        return 3
    if today >= date(2026, 5, 12):
        return 2
    return 1
