"""The daemon's event bus: prompts, sync progress and register changes, to every window.

Each subscriber (a page's server-sent event stream, the terminal dialogue, a test) gets its
own bounded queue. A subscriber too slow to keep up is not allowed to hold the daemon back:
its queue is cleared and it is told to ``resync`` (read the current state again), so it may
miss intermediate progress but never the state it ends in: no prompt is lost.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: the kinds of event a subscriber may see
PROMPT = "prompt"
PROMPT_RESOLVED = "prompt_resolved"
SYNC_PROGRESS = "sync_progress"
REGISTER_CHANGED = "register_changed"
RESYNC = "resync"

QUEUE_SIZE = 500


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class Subscription:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._queue: queue.Queue[Event] = queue.Queue(QUEUE_SIZE)
        self._overflowed = False
        self._lock = threading.Lock()

    def _put(self, event: Event) -> None:
        with self._lock:
            if self._overflowed:
                return
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                self._overflowed = True
                while not self._queue.empty():
                    self._queue.get_nowait()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event; None after ``timeout`` seconds without one."""
        with self._lock:
            if self._overflowed:
                self._overflowed = False
                return Event(seq=self._bus.last_seq, kind=RESYNC)
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> Iterator[Event]:
        """Every event waiting now, without blocking."""
        while True:
            event = self.get(timeout=0)
            if event is None:
                return
            yield event

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self.last_seq = 0

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        with self._lock:
            self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    def publish(self, kind: str, data: dict[str, Any] | None = None) -> Event:
        with self._lock:
            event = Event(seq=next(self._seq), kind=kind, data=dict(data or {}))
            self.last_seq = event.seq
            # delivered under the lock (puts never block), so every subscriber sees the
            # events in the order of their numbers
            for subscription in self._subscribers:
                subscription._put(event)
        return event
