"""One cash program's conversation with the register, forwarded through the link owner.

The loop sleeps until the cash software writes. Its first byte starts an exchange: the
conversation takes a cash turn of the :class:`~.owner.LinkOwner` (before any waiting bridge
turn), passes every byte both ways through the driver's tracker, and gives the turn back
only when the tracker says the exchange is over. Nothing is invented: while the register
cannot be reached the bytes are dropped and the cash software hears nothing, exactly as on
an unplugged cable; its speed settings never reach the register.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from .device_io import drain_stale, fileno_of, read_device, waiting
from .owner import LinkOwner
from .rules import Completed, ExchangeTracker

log = logging.getLogger(__name__)

_READ_SIZE = 4096
#: a cash program that does not read its answer for this long loses it (a cable's end)
STALE_WRITE = 1.0
#: how long the loop sleeps at most inside an exchange before it asks the tracker again
_TICK = 0.5
#: how often a port without a descriptor (usb://) is asked for bytes during an exchange
POLL_INTERVAL = 0.001


class Endpoint(Protocol):
    """The cash software's end: a pty master or a TCP connection."""

    def fileno(self) -> int: ...

    def receive(self) -> bytes | None:
        """Bytes written by the cash software; b"" when it is gone for good, None when
        nothing is there now."""
        ...

    def send(self, data: bytes) -> None: ...


class PtyEndpoint:
    """The master side of the shared pseudo-terminal (the slave stays open in the server,
    so a cash program may close and reopen it any number of times)."""

    def __init__(self, master: int) -> None:
        self.master = master

    def fileno(self) -> int:
        return self.master

    def receive(self) -> bytes | None:
        try:
            return os.read(self.master, _READ_SIZE)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno == errno.EIO:  # no slave open at the moment
                time.sleep(0.01)
                return None
            raise

    def send(self, data: bytes) -> None:
        _write_all(self.master, data, lambda fd, chunk: os.write(fd, chunk))


class SocketEndpoint:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive(self) -> bytes | None:
        try:
            return self.sock.recv(_READ_SIZE)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def send(self, data: bytes) -> None:
        _write_all(self.sock.fileno(), data, lambda _fd, chunk: self.sock.send(chunk))


def _write_all(fd: int, data: bytes, write: Callable[[int, bytes], int]) -> None:
    view = memoryview(data)
    give_up = time.monotonic() + STALE_WRITE
    while view:
        try:
            written = write(fd, bytes(view))
        except BlockingIOError:
            written = 0
        view = view[written:]
        if view:
            if time.monotonic() >= give_up:
                log.debug("cash program does not read: %d bytes dropped", len(view))
                return
            select.select([], [fd], [], 0.05)


class _CashGone(Exception):
    """The cash program closed its end (a TCP client went away)."""


class Conversation:
    """Serve one cash program until it goes away or ``stop`` is set."""

    def __init__(self, endpoint: Endpoint, owner: LinkOwner,
                 new_tracker: Callable[[], ExchangeTracker], *, stop: threading.Event,
                 wake_fd: int) -> None:
        self.endpoint = endpoint
        self.owner = owner
        self.new_tracker = new_tracker
        self.tracker = new_tracker()
        self.stop = stop
        self.wake_fd = wake_fd

    def run(self) -> None:
        fd = self.endpoint.fileno()
        while not self.stop.is_set():
            readable, _w, _x = select.select([fd, self.wake_fd], [], [])
            if self.stop.is_set():
                return
            if fd not in readable:
                continue
            data = self.endpoint.receive()
            if data == b"":
                return
            if data:
                try:
                    self.exchange(data)
                except _CashGone:
                    return

    def exchange(self, first: bytes) -> None:
        """One exchange, started by ``first`` from the cash software, under a cash turn."""
        done: list[Completed] = []
        try:
            with self.owner.cash_turn() as port:
                if port is None:
                    # nobody on the other end of the cable: the bytes are lost, the cash
                    # software hears nothing and times out as it would
                    self.tracker = self.new_tracker()
                    return
                try:
                    self._forward(port, first)
                except OSError as exc:
                    self.owner.port_failed(exc)
                    done = self.tracker.completed()
                    self.tracker = self.new_tracker()
        finally:
            # after the turn: a listener may well use the register itself
            for completed in done + self.tracker.completed():
                self.owner.report(completed)

    def _forward(self, port: Any, first: bytes) -> None:
        tracker = self.tracker
        device = fileno_of(port)
        drain_stale(port, device)
        now = time.monotonic()
        out = tracker.from_host(first, now)
        if out:
            port.write(out)
        cash = self.endpoint.fileno()
        watched = [cash, self.wake_fd] + ([] if device is None else [device])
        while tracker.busy(time.monotonic()) and not self.stop.is_set():
            deadline = tracker.deadline()
            wait = _TICK if deadline is None else min(_TICK, max(0.0, deadline - time.monotonic()))
            if device is None:
                wait = min(wait, POLL_INTERVAL)  # a port select cannot watch: poll it
            readable, _w, _x = select.select(watched, [], [], wait)
            if device in readable or (device is None and waiting(port)):
                data = read_device(port)
                if data:
                    back = tracker.from_device(data, time.monotonic())
                    if back:
                        self.endpoint.send(back)
            if cash in readable:
                got = self.endpoint.receive()
                if got == b"":
                    raise _CashGone
                if got:
                    out = tracker.from_host(got, time.monotonic())
                    if out:
                        port.write(out)


__all__ = ["Conversation", "Endpoint", "PtyEndpoint", "SocketEndpoint"]
