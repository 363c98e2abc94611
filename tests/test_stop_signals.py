"""kkt_bridge.stop_signals: a stop signal is acted on outside the handler, so it cannot
wait for a lock that the interrupted main thread holds."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from kkt_bridge.stop_signals import stop_on_signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_the_main_thread_holds_what_the_stop_needs(sig: signal.Signals) -> None:
    # Daemon.stop takes the workers' lock; SIGTERM once came while Daemon.run held it
    lock = threading.Lock()
    outcome: list[str] = []
    done = threading.Event()

    def on_stop() -> None:
        # a handler run in the main thread would wait here for the main thread itself
        if lock.acquire(timeout=5):
            lock.release()
            outcome.append(threading.current_thread().name)
        else:
            outcome.append("deadlocked")
        done.set()

    with stop_on_signals(on_stop):
        with lock:
            os.kill(os.getpid(), sig)
            # several bytecodes and a blocking call: a Python handler would have run by now
            done.wait(0.2)
        assert done.wait(10)
    assert outcome == ["kkt-bridge stop signals"]


def test_the_previous_handlers_and_wakeup_descriptor_come_back() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with stop_on_signals(lambda: None):
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
    assert {sig: signal.getsignal(sig) for sig in before} == before
    assert signal.set_wakeup_fd(-1) == -1  # none left behind


def test_other_signals_do_not_stop() -> None:
    calls: list[str] = []
    stopped = threading.Event()
    seen = threading.Event()

    def on_stop() -> None:
        calls.append("stop")
        stopped.set()

    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.set())
    try:
        with stop_on_signals(on_stop):
            os.kill(os.getpid(), signal.SIGUSR1)
            assert seen.wait(10)
            # the watcher has had its chance to misread the byte
            assert not stopped.wait(0.3)
            os.kill(os.getpid(), signal.SIGTERM)
            assert stopped.wait(10)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert calls == ["stop"]


def test_only_the_main_thread_can_take_the_signals() -> None:
    errors: list[BaseException] = []

    def enter() -> None:
        try:
            with stop_on_signals(lambda: None):
                pass
        except ValueError as exc:
            errors.append(exc)

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert signal.set_wakeup_fd(-1) == -1
