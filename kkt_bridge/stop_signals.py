"""SIGTERM and Ctrl+C as a request to stop, acted on outside the signal handler.

A Python signal handler runs in the main thread between two bytecodes, wherever that thread
is at the moment, inside a ``with lock:`` block included. A handler that takes a lock the
interrupted code holds waits for itself for ever: ``kkt-bridge run`` hung that way when
SIGTERM came while :meth:`Daemon.run` held its workers' lock (``Daemon.stop`` takes it to
wake the workers), and ``threading.Event.set`` can do the same to an ``Event.wait`` under
way in the main thread.

So the Python-level handler does nothing. The interpreter's C handler writes the signal's
number to a socket (:func:`signal.set_wakeup_fd`), and a thread of ours reads it and calls
``on_stop`` as ordinary code, holding nothing. The stop starts as soon as the signal comes.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _noted(signum: int, frame: FrameType | None) -> None:
    """Installed so that the C handler runs and writes to the wakeup socket; the work
    is done by the watcher thread."""


@contextmanager
def stop_on_signals(on_stop: Callable[[], None],
                    signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, each of ``signals`` calls ``on_stop`` from a thread of its own.

    Must be entered in the main thread (the only one Python lets set signal handlers);
    the previous handlers and wakeup descriptor are restored on leaving."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)  # the C handler must never block on a full socket
    wanted = {int(sig) for sig in signals}
    try:
        previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except BaseException:
        reader.close()
        writer.close()
        raise
    previous = {sig: signal.signal(sig, _noted) for sig in signals}

    def watch() -> None:
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:  # the block is left: the writer end is closed
                return
            if wanted.intersection(data):
                on_stop()

    watcher = threading.Thread(target=watch, daemon=True, name="kkt-bridge stop signals")
    watcher.start()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        writer.close()
        watcher.join(5)
        reader.close()
