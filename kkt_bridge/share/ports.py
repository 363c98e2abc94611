"""The shared port of one register: a pseudo-terminal with a stable name, and a TCP port.

:class:`SharedPort` opens both in front of a :class:`~.owner.LinkOwner` and serves them
with one thread per cash program (:class:`~.proxy.Conversation`):

- the pty: ``<run dir>/<name>`` is a symlink to its ``/dev/pts/N``, which is given to group
  ``kkt`` (when that group exists and this process may) with mode 0660. The server keeps
  the slave open, so cash programs may open and close it any number of times;
- TCP, when asked: 127.0.0.1 (any other address only when configured), port 0 picks a
  free one. Several connections are served at once, one exchange after the other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from kkt_bridge.errors import LinkError
from kkt_bridge.i18n import _

from .owner import LinkOwner
from .paths import LOOPBACK, link_path
from .proxy import Conversation, PtyEndpoint, SocketEndpoint

log = logging.getLogger(__name__)

GROUP = "kkt"
MODE = 0o660


@dataclass(frozen=True)
class SharedPortInfo:
    """Where the cash software finds the register (for the start message, status, page)."""

    register: str
    device_url: str
    path: str  # the stable name: the symlink in the run directory
    pty: str  # the /dev/pts/N it points to
    tcp_url: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"register": self.register, "device": self.device_url, "path": self.path,
                "pty": self.pty, "tcp": self.tcp_url}


class SharedPort:
    """The pty (and TCP port) through which cash software reaches ``owner``'s register."""

    def __init__(self, owner: LinkOwner, name: str, *, run_dir: Path | None = None,
                 tcp: int | None = None, tcp_host: str = LOOPBACK,
                 group: str | None = GROUP) -> None:
        self.owner = owner
        self.name = name
        self.link = link_path(name, run_dir)
        self.tcp_port = tcp
        self.tcp_host = tcp_host
        self.group = group
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._threads: list[threading.Thread] = []
        self._master: int | None = None
        self._slave: int | None = None
        self.pty_path = ""
        self._listener: socket.socket | None = None
        self._tcp_url: str | None = None
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        self._closed = False

    # --- life -------------------------------------------------------------------------

    def start(self) -> SharedPort:
        try:
            self._open_pty()
            if self.tcp_port is not None:
                self._open_tcp()
        except BaseException:
            self.stop()
            raise
        self._spawn(self._serve_pty, "pty")
        if self._listener is not None:
            self._spawn(self._accept, "tcp")
        log.info("shared port of %s: %s -> %s%s", self.owner.url, self.link, self.pty_path,
                 f", {self.tcp_url}" if self.tcp_url else "")
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving, remove the stable name, close everything (once)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")  # never read: every select wakes for good
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._clients_lock:
            for client in self._clients:
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout)
        with contextlib.suppress(FileNotFoundError):
            if self.link.is_symlink() and os.readlink(self.link) == self.pty_path:
                self.link.unlink()
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> SharedPort:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def tcp_url(self) -> str | None:
        return self._tcp_url

    def info(self) -> SharedPortInfo:
        return SharedPortInfo(register=self.name, device_url=self.owner.url,
                              path=str(self.link), pty=self.pty_path, tcp_url=self.tcp_url)

    # --- the pty ----------------------------------------------------------------------

    def _open_pty(self) -> None:
        import tty  # POSIX only, like the pseudo-terminal itself

        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.pty_path = os.ttyname(self._slave)
        _give_to_group(self.pty_path, self.group)
        _make_run_dir(self.link.parent)
        tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(self.pty_path, tmp)
        os.replace(tmp, self.link)  # atomic: a cash program never finds the name missing

    def _serve_pty(self) -> None:
        assert self._master is not None
        Conversation(PtyEndpoint(self._master), self.owner, self.owner.rules.tracker,
                     stop=self._stop, wake_fd=self._wake_r).run()

    # --- TCP --------------------------------------------------------------------------

    def _open_tcp(self) -> None:
        family = socket.AF_INET6 if ":" in self.tcp_host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.tcp_host, self.tcp_port or 0))
        except OSError as exc:
            listener.close()
            raise LinkError(_("общий порт {host}:{port} не открыть: {reason}").format(
                host=self.tcp_host, port=self.tcp_port, reason=exc.strerror or exc),
                _("укажите другой порт (0 выберет свободный)")) from None
        listener.listen(8)
        self._listener = listener
        host, port = listener.getsockname()[:2]
        self._tcp_url = f"socket://{f'[{host}]' if ':' in host else host}:{port}"

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                readable, _w, _x = select.select([self._listener.fileno(), self._wake_r],
                                                 [], [])
            except (OSError, ValueError):
                return
            if self._stop.is_set():
                return
            if self._wake_r in readable or self._listener.fileno() not in readable:
                continue
            try:
                client, _addr = self._listener.accept()
            except OSError:
                continue
            with self._clients_lock:
                self._clients.add(client)
            self._spawn(lambda c=client: self._serve_client(c), "tcp-client")

    def _serve_client(self, client: socket.socket) -> None:
        try:
            Conversation(SocketEndpoint(client), self.owner, self.owner.rules.tracker,
                         stop=self._stop, wake_fd=self._wake_r).run()
        finally:
            with self._clients_lock:
                self._clients.discard(client)
            with contextlib.suppress(OSError):
                client.close()

    def _spawn(self, target: object, kind: str) -> None:
        thread = threading.Thread(target=target, daemon=True,  # type: ignore[arg-type]
                                  name=f"kkt-share-{kind} {self.name}")
        self._threads.append(thread)
        thread.start()


def _make_run_dir(path: Path) -> None:
    """The run directory, reachable by the cash software's user (its names are public;
    what they point at is guarded by group and mode). An existing one is left as it is."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o755)  # the daemon's umask (0077 under systemd) would hide the names


def _give_to_group(path: str, group: str | None) -> None:
    """Group ``group`` and mode 0660 on the pty node, when the group exists and we may."""
    gid = -1
    if group:
        import grp  # POSIX only, like the pseudo-terminal itself

        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            log.debug("group %s does not exist: %s keeps its group", group, path)
    try:
        if gid != -1:
            os.chown(path, -1, gid)
        os.chmod(path, MODE)
    except OSError as exc:
        log.warning("%s: group %s / mode 0660 not set: %s", path, group, exc)


__all__ = ["GROUP", "MODE", "SharedPort", "SharedPortInfo"]
