"""A POSIX serial port's descriptor read and written without pyserial's work per call.

A document read makes about 26 round trips a document, each a write and two or three reads
(the ACK, then the answer frame). pyserial's ``read`` builds a timeout object, a select
over two descriptors and a bytearray for every call, and its ``write`` waits in select for
the port to be writable after every write: measured on a pty, ten syscalls a round trip and
tens of microseconds of Python on the path from the register's answer to our next command.
:class:`DirectIO` does the same reads and writes with one ``poll`` and one ``read``, or one
``write``, on the same descriptor, under the same rules:

- a read waits at most the port's timeout for its first byte and returns what is there, up
  to the size asked, never more (it never takes a byte of the next message off the line);
- silence gives ``b""``; a descriptor that says it is readable and gives nothing (a USB
  adapter pulled out) raises ``SerialException`` as pyserial does, and so does a port that
  was closed;
- pyserial's ``cancel_read`` still ends a waiting read;
- a write the descriptor does not take whole at once (a full output buffer) goes on through
  pyserial's own ``write``, with its write timeout.

Only a ``serial.Serial`` of POSIX (a tty, a pty) gets one: sockets, ``usb://``, ``loop://``
and the test ports keep pyserial's or their own ``read`` and ``write``, unless the caller
asks for :class:`SocketIO` (``port_calls(port, sockets=True)``), the same reads and writes
on a ``socket://`` port's socket: pyserial's waits for the whole size asked (a select and a
recv a piece), asks ``in_waiting`` with another select, and selects for writability after
every send. A reader that keeps what it reads past a message (the ATOL transport's frame
reader) takes all that waits in one poll and one read.
"""

from __future__ import annotations

import os
import select
import socket
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import serial

#: errors a non-blocking descriptor gives where pyserial reads or writes again
_AGAIN = (BlockingIOError, InterruptedError)


def direct_io(port: Any) -> DirectIO | None:
    """A :class:`DirectIO` for an open pyserial POSIX port, None for any other port."""
    posix = sys.modules.get("serial.serialposix")
    if posix is None or type(port) is not getattr(posix, "Serial", None):
        return None  # a subclass may read its own way (VTIME, poll), a socket has no tty
    if not getattr(port, "is_open", False) or getattr(port, "fd", None) is None:
        return None
    return DirectIO(port)


class DirectIO:
    """Reads and writes of one open pyserial POSIX port (see the module text)."""

    def __init__(self, port: Any, fd: int | None = None) -> None:
        self.port = port
        self.fd: int = port.fd if fd is None else fd
        self._abort: int | None = getattr(port, "pipe_abort_read_r", None)
        self._poll = select.poll()
        self._poll.register(self.fd, select.POLLIN)
        if self._abort is not None:
            self._poll.register(self._abort, select.POLLIN)

    def _check(self) -> None:
        if not self.port.is_open or self.port.fd != self.fd:
            raise serial.PortNotOpenError()

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes: those waiting, else the first to come within the port's
        timeout; ``b""`` when none came (see the module text)."""
        self._check()
        timeout = self.port.timeout
        wait = -1 if timeout is None else int(timeout * 1000 + 0.999)  # ms, rounded up
        for _turn in range(2):  # bounded: a second turn only after an interrupted read
            ready = self._poll.poll(wait)
            if not ready:
                return b""
            if ready[0][0] != self.fd or len(ready) > 1:  # the abort pipe is ready too
                os.read(self._abort, 1000)  # type: ignore[arg-type]  # pyserial's cancel_read
                return b""
            try:
                data = os.read(self.fd, size)
            except _AGAIN:
                continue
            except OSError as exc:
                raise serial.SerialException(f"read failed: {exc}") from exc
            if not data:
                raise serial.SerialException(
                    "device reports readiness to read but returned no data "
                    "(device disconnected or multiple access on port?)")
            return data
        return b""

    def read_now(self, size: int) -> bytes:
        """:meth:`read` for bytes that should be waiting already (the rest of a frame whose
        head just came): read first, and wait only if they are not there yet."""
        self._check()
        try:
            data = os.read(self.fd, size)
        except _AGAIN:
            return self.read(size)
        except OSError as exc:
            raise serial.SerialException(f"read failed: {exc}") from exc
        return data or self.read(size)

    def write(self, data: bytes) -> None:
        """Write ``data`` whole (see the module text)."""
        self._check()
        try:
            written = os.write(self.fd, data)
        except _AGAIN:
            written = 0
        except OSError as exc:
            raise serial.SerialException(f"write failed: {exc}") from exc
        if written < len(data):
            self.port.write(data[written:])


def socket_io(port: Any) -> SocketIO | None:
    """A :class:`SocketIO` for an open pyserial ``socket://`` port, None for any other."""
    module = sys.modules.get("serial.urlhandler.protocol_socket")
    if module is None or type(port) is not getattr(module, "Serial", None):
        return None
    sock = getattr(port, "_socket", None)
    if not getattr(port, "is_open", False) or not isinstance(sock, socket.socket):
        return None
    return SocketIO(port, sock)


class SocketIO(DirectIO):
    """:class:`DirectIO` on an open pyserial ``socket://`` port's socket: read(2) and
    write(2) on a socket are its recv and send, under the same rules (a peer that closed
    the connection reads as readable and empty, and raises)."""

    def __init__(self, port: Any, sock: socket.socket) -> None:
        self._sock = sock
        super().__init__(port, sock.fileno())

    def _check(self) -> None:
        if not self.port.is_open or self.port._socket is not self._sock:
            raise serial.PortNotOpenError()


class PortCalls(NamedTuple):
    """How a transport reads and writes one port: directly where :func:`direct_io` can,
    else through the port's own methods, looked up at each call (a wrapper may replace
    them)."""

    direct: DirectIO | None
    read: Callable[[int], bytes]
    #: for bytes that should be waiting already (the rest of a frame whose head came)
    read_now: Callable[[int], bytes]
    write: Callable[[bytes], object]


def port_calls(port: Any, *, sockets: bool = False) -> PortCalls:
    """The :class:`PortCalls` of ``port``; with ``sockets``, a pyserial ``socket://`` port's
    are :class:`SocketIO`'s (for a reader that keeps what it reads past a message)."""
    direct = direct_io(port)
    if direct is None and sockets:
        direct = socket_io(port)
    if direct is not None:
        return PortCalls(direct, direct.read, direct.read_now, direct.write)

    def read(size: int) -> bytes:
        return port.read(size)  # type: ignore[no-any-return]

    def write(data: bytes) -> object:
        return port.write(data)

    return PortCalls(None, read, read, write)


__all__ = ["DirectIO", "PortCalls", "SocketIO", "direct_io", "port_calls", "socket_io"]
