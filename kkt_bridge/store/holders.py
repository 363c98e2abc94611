"""Who has the store open: every :class:`~kkt_bridge.store.Store` holds a shared lock on
``locks/store.lock`` for as long as it is open, and an exclusive one on a small file naming
its process. ``kkt-bridge reset`` needs the exclusive lock on ``store.lock``; when a daemon or
``sync now`` has the store open it cannot get it, and the naming files tell it whom to name.

The kernel drops a dead process's locks, so a killed daemon never blocks a reset. The locks
are :mod:`kkt_bridge.filelocks`, so this works on Windows too; there a locked file cannot
be read by others, so a holder is then named by the pid in its file's name.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from kkt_bridge.filelocks import lock

LOCK_DIR = "locks"
STORE_LOCK = "store.lock"
HOLDER_PREFIX = "holder-"


def lock_dir(store_dir: Path) -> Path:
    return store_dir / LOCK_DIR


def _open_private(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def describe_process() -> str:
    """``pid (command)`` of this process, for the message of a refused reset."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    if program in ("-c", "-m", "__main__.py"):
        program = "kkt-bridge"  # `python -c "...main()"` and `python -m` runs of the CLI
    return f"{os.getpid()} ({' '.join([program, *sys.argv[1:3]])})"


class StoreHold:
    """This process has the store in ``store_dir`` open (released by :meth:`release`)."""

    def __init__(self, store_dir: Path) -> None:
        directory = lock_dir(store_dir)
        self._shared = _open_private(directory / STORE_LOCK)
        try:
            # waits only while a reset holds it exclusively, which takes milliseconds
            lock(self._shared, shared=True)
            self._name_path = directory / f"{HOLDER_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self._name = _open_private(self._name_path)
        except BaseException:
            os.close(self._shared)
            raise
        lock(self._name)
        os.write(self._name, describe_process().encode())

    def release(self) -> None:
        if self._name >= 0:
            os.close(self._name)  # closing drops the lock (and Windows deletes no open file)
            self._name_path.unlink(missing_ok=True)
            os.close(self._shared)
            self._name = self._shared = -1


def holders(store_dir: Path) -> list[str]:
    """The processes that have the store open now; stale naming files are removed."""
    found: list[str] = []
    directory = lock_dir(store_dir)
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob(HOLDER_PREFIX + "*")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            held = not lock(fd, blocking=False)
            if held:
                found.append(_holder_name(fd, path))
        finally:
            os.close(fd)
        if not held:
            path.unlink(missing_ok=True)  # its process is gone
    return found


def _holder_name(fd: int, path: Path) -> str:
    try:
        written = os.read(fd, 512).decode(errors="replace")
    except OSError:  # Windows: the holder's lock covers its file's bytes
        written = ""
    return written or path.name.removeprefix(HOLDER_PREFIX).partition("-")[0]


class ExclusiveHold:
    """The store's directory to oneself (a reset), or None from :func:`try_exclusive`."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def release(self) -> None:
        os.close(self._fd)


def try_exclusive(store_dir: Path) -> ExclusiveHold | None:
    fd = _open_private(lock_dir(store_dir) / STORE_LOCK)
    if not lock(fd, blocking=False):
        os.close(fd)
        return None
    return ExclusiveHold(fd)
