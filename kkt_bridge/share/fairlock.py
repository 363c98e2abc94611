"""A lock with two queues: the cash software's turns go before the bridge's.

When the holder releases it, the oldest waiting cash program gets it; the bridge gets it only
when no cash program waits. Inside each queue the order is first come, first served, so two
cash programs on one register take turns exchange by exchange.
"""

from __future__ import annotations

import threading
from collections import deque


class FairLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held = False
        self._queues: dict[bool, deque[object]] = {True: deque(), False: deque()}

    def acquire(self, *, priority: bool, timeout: float | None = None) -> bool:
        """Wait for the lock; ``priority``: a cash program's turn. False on timeout."""
        ticket = object()
        mine = self._queues[priority]
        cash = self._queues[True]

        def my_turn() -> bool:
            return not self._held and mine[0] is ticket and (priority or not cash)

        with self._cond:
            mine.append(ticket)
            try:
                if not self._cond.wait_for(my_turn, timeout):
                    return False
                self._held = True
                return True
            finally:
                mine.remove(ticket)
                # whoever is first in line now may be able to go (a timed-out waiter
                # leaving the head of the queue, or the bridge once no cash waits)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            if not self._held:
                raise RuntimeError("FairLock released while not held")
            self._held = False
            self._cond.notify_all()

    @property
    def cash_waiting(self) -> int:
        """How many cash programs wait for a turn now."""
        with self._cond:
            return len(self._queues[True])

    @property
    def bridge_waiting(self) -> int:
        """How many bridge turns wait now."""
        with self._cond:
            return len(self._queues[False])

    @property
    def held(self) -> bool:
        return self._held
