"""The owner's lock: a waiting cash program goes before the bridge, each queue in order."""

from __future__ import annotations

import threading
import time

import pytest

from kkt_bridge.share.fairlock import FairLock

BOUND = 5.0


def waiter(lock: FairLock, priority: bool, name: str, order: list[str]) -> threading.Thread:
    def run() -> None:
        assert lock.acquire(priority=priority, timeout=BOUND)
        order.append(name)
        lock.release()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def settle(lock: FairLock, cash: int, bridge: int) -> None:
    """Wait (bounded) until ``cash`` cash programs and ``bridge`` bridge turns are in the
    lock's queues: the next waiter starts only once the previous one queued, however late
    the machine's load runs its thread."""
    give_up = time.monotonic() + BOUND
    while time.monotonic() < give_up:
        if lock.cash_waiting == cash and lock.bridge_waiting == bridge:
            return
        time.sleep(0.005)
    raise AssertionError("waiters did not queue")


@pytest.mark.parametrize("queue", [
    ["bridge1", "cash1", "bridge2", "cash2"],
    ["cash1", "cash2", "bridge1"],
    ["bridge1", "bridge2", "cash1"],
])
def test_cash_first_then_bridge_each_in_arrival_order(queue: list[str]) -> None:
    lock = FairLock()
    assert lock.acquire(priority=False)
    order: list[str] = []
    threads = []
    for count, name in enumerate(queue, 1):
        threads.append(waiter(lock, name.startswith("cash"), name, order))
        cash = sum(n.startswith("cash") for n in queue[:count])
        settle(lock, cash, count - cash)
    lock.release()
    for thread in threads:
        thread.join(BOUND)
    cash = [n for n in queue if n.startswith("cash")]
    bridge = [n for n in queue if n.startswith("bridge")]
    assert order == cash + bridge


def test_a_timed_out_waiter_leaves_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(priority=True)
    assert not lock.acquire(priority=True, timeout=0.05)
    assert lock.cash_waiting == 0
    lock.release()
    assert lock.acquire(priority=False, timeout=0.05)
    lock.release()


def test_release_without_holding_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        FairLock().release()
