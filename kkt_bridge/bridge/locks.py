"""One job at a time per register link, in this process and across processes.

A thread lock keeps the daemon's own workers apart; a file lock on a file named after the
link (:mod:`kkt_bridge.filelocks`: Linux and Windows) keeps ``kkt-bridge sync now`` from
interleaving with a running daemon on the same port.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from types import TracebackType

from kkt_bridge.errors import KktBridgeError
from kkt_bridge.filelocks import lock, unlock
from kkt_bridge.i18n import _

_thread_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()


class LinkBusyError(KktBridgeError):
    """Another job is using this register link right now."""


class LinkLock:
    def __init__(self, lock_dir: Path, link: str) -> None:
        self.link = link
        digest = hashlib.sha1(link.encode()).hexdigest()[:16]
        self.path = lock_dir / f"link-{digest}.lock"
        self._lock_dir = lock_dir
        with _registry_lock:
            self._thread_lock = _thread_locks.setdefault(str(self.path), threading.Lock())
        self._fd: int | None = None

    def acquire(self, blocking: bool = True) -> bool:
        if not self._thread_lock.acquire(blocking):
            return False
        try:
            self._lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if not lock(fd, blocking=blocking):
                os.close(fd)
                self._thread_lock.release()
                return False
            self._fd = fd
            return True
        except BaseException:
            if self._fd is None and self._thread_lock.locked():
                self._thread_lock.release()
            raise

    def release(self) -> None:
        if self._fd is not None:
            unlock(self._fd)
            os.close(self._fd)
            self._fd = None
            self._thread_lock.release()

    def __enter__(self) -> LinkLock:
        if not self.acquire(blocking=False):
            raise LinkBusyError(
                _("ККТ {link} занята другим заданием").format(link=self.link),
                _("дождитесь окончания текущего обмена и повторите"))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
