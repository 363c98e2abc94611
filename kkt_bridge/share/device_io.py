"""Reading the register's side of a shared link without waiting: what the shared ports
and the link owner need to start a turn on a quiet line."""

from __future__ import annotations

import contextlib
import errno
import select
from typing import Any

_READ_SIZE = 4096
#: bytes the register said while nobody listened, read before a turn: bounded
_STALE_READS = 64


def read_device(port: Any) -> bytes:
    """What the register has sent, without waiting (the port was seen readable)."""
    sock = getattr(port, "_socket", None)
    if sock is not None:  # pyserial's socket:// reads one byte per select otherwise
        data: bytes = sock.recv(_READ_SIZE)
        if not data:
            raise ConnectionResetError(errno.ECONNRESET, "the register closed the connection")
        return data
    pending = int(getattr(port, "in_waiting", 0) or 0)
    chunk: bytes = port.read(max(1, pending))
    return chunk


def fileno_of(port: Any) -> int | None:
    """The descriptor select can watch, None for a port without one (usb://)."""
    try:
        return int(port.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def waiting(port: Any) -> bool:
    return bool(getattr(port, "in_waiting", 0))


def drain_stale(port: Any, device: int | None) -> None:
    """Drop what the register sent while nobody listened (a stray byte, an answer nobody
    waited for any more: a register that holds an answer sends it again when asked)."""
    for _read in range(_STALE_READS):
        if device is None:
            if not waiting(port):
                return
        else:
            readable, _w, _x = select.select([device], [], [], 0)
            if not readable:
                return
        with contextlib.suppress(BlockingIOError):
            if not read_device(port):
                return


__all__ = ["drain_stale", "fileno_of", "read_device", "waiting"]
