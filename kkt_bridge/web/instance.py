"""One daemon per store, and how commands find it.

The daemon holds an exclusive lock on ``locks/daemon.lock`` for as long as it runs, so a
second ``kkt-bridge run`` on the same store is refused with the first one's address. While
it serves, ``daemon.json`` (0600, beside the store) says where: the URL of its local server
and its process id. The API secret is in ``api-secret`` beside it. A file left by a daemon
that died is recognised (its lock is free) and ignored.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _
from kkt_bridge.store.holders import lock_dir
from kkt_bridge.web.security import read_secret

DAEMON_FILE = "daemon.json"
DAEMON_LOCK = "daemon.lock"


@dataclass(frozen=True)
class RunningDaemon:
    url: str
    pid: int
    secret: str


class DaemonInstance:
    """This process is the store's daemon (released by :meth:`release`)."""

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        directory = lock_dir(store_dir)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fd = os.open(directory / DAEMON_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            other = _read_file(store_dir)
            raise ConfigError(
                _("kkt-bridge run уже работает с этим хранилищем ({where})").format(
                    where=_("процесс {pid}, {url}").format(pid=other[1], url=other[0])
                    if other else store_dir),
                _("второй не нужен: откройте страницу (kkt-bridge ui) или остановите "
                  "первый")) from None

    def publish(self, url: str) -> None:
        path = self.store_dir / DAEMON_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"url": url, "pid": os.getpid()}, handle)
        os.replace(tmp, path)

    def release(self) -> None:
        try:
            (self.store_dir / DAEMON_FILE).unlink(missing_ok=True)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)


def _read_file(store_dir: Path) -> tuple[str, int] | None:
    try:
        data = json.loads((store_dir / DAEMON_FILE).read_text(encoding="utf-8"))
        return str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _daemon_alive(store_dir: Path) -> bool:
    """True while some process holds the daemon lock of ``store_dir``."""
    path = lock_dir(store_dir) / DAEMON_LOCK
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def running_daemon(store_dir: Path) -> RunningDaemon | None:
    """The daemon serving ``store_dir`` now, or None (none, or only a stale file)."""
    found = _read_file(store_dir)
    if found is None or not _daemon_alive(store_dir):
        return None
    secret = read_secret(store_dir)
    if secret is None:
        return None
    return RunningDaemon(url=found[0], pid=found[1], secret=secret)
