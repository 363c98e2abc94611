"""The shared ports of ``kkt-bridge run``: one per register it serves.

How the daemon wires them (see :func:`kkt_bridge.cli.run`)::

    shares = SharedPorts(tcp=0, on_document=lambda url, done: daemon.export_soon(url))
    daemon = Daemon(store, pm, urls, opener=shares.opener(app.open_register), ...)
    for url in urls:
        shares.add(url)             # prints nothing; shares.infos() says where they are
    ...
    shares.close()

The opener hands the daemon's jobs a :class:`~.owner.SharedKkt` for a shared register: every
call is one turn of the register's :class:`~.owner.LinkOwner`, and the export's
``iter_documents`` one turn per document, so the export code is unchanged. A register whose
driver declares no exchange rules keeps the plain opener and has no shared port.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from kkt_bridge.driverapi import DEFAULT_DRIVER, Driver, exchange_rules_of, get_driver
from kkt_bridge.errors import KktBridgeError
from kkt_bridge.kkt import Kkt

from .owner import LinkOwner
from .paths import LOOPBACK, port_name
from .ports import SharedPort, SharedPortInfo
from .rules import Completed

log = logging.getLogger(__name__)

DocumentListener = Callable[[str, Completed], None]

#: where a running daemon says which shared ports it offers (in its data directory), so that
#: ``kkt-bridge status`` and the page can show them without asking the daemon
STATE_FILE = "shared-ports.json"


class SharedPorts:
    """A :class:`SharedPort` and its :class:`LinkOwner` per register URL.

    ``tcp``: None for no TCP face; 0 for a free port each; N for N, N+1, ... in the order
    the registers are added. ``on_document(url, completed)``: a cash-software command made a
    fiscal document on the register at ``url``; ``on_added(info)``: a shared port opened
    (the daemon prints where).
    """

    def __init__(self, *, tcp: int | None = None, tcp_host: str = LOOPBACK,
                 run_dir: Path | None = None, driver: str | None = None,
                 on_document: DocumentListener | None = None,
                 on_added: Callable[[SharedPortInfo], None] | None = None,
                 state_file: Path | None = None,
                 drivers: Callable[[str], Driver] = get_driver) -> None:
        self.tcp = tcp
        self.tcp_host = tcp_host
        self.run_dir = run_dir
        self.driver = driver or DEFAULT_DRIVER
        self.on_document = on_document
        self._drivers = drivers
        self._ports: dict[str, SharedPort] = {}
        #: URL -> the driver its shared port speaks
        self._spoken: dict[str, str] = {}
        self._refused: set[str] = set()
        self._lock = threading.Lock()
        self.on_added = on_added
        self.state_file = state_file

    def add(self, url: str, driver: str | None = None) -> SharedPortInfo | None:
        """Open the shared port of the register at ``url`` (once), spoken by ``driver``
        (default: the one given at construction); None when the driver declares no
        exchange rules or the port cannot be opened (logged: the bridge runs on without
        it)."""
        driver = driver or self.driver
        with self._lock:
            known = self._ports.get(url)
            if known is not None:
                return known.info()
            try:
                rules = exchange_rules_of(self._drivers(driver))
            except KktBridgeError as exc:
                log.warning("no shared port for %s: %s", url, exc)
                return None
            if rules is None:
                log.info("driver %s declares no exchange rules: no shared port for %s",
                         driver, url)
                return None
            owner = LinkOwner(url, rules)
            # looked up at each event: the daemon that listens may come after the port
            owner.subscribe(lambda completed: self._document(url, completed))
            tcp = None if self.tcp is None else (self.tcp and self.tcp + len(self._ports))
            port = SharedPort(owner, port_name(url), run_dir=self.run_dir, tcp=tcp,
                              tcp_host=self.tcp_host)
            try:
                port.start()
            except (KktBridgeError, OSError) as exc:
                log.warning("shared port of %s not opened: %s", url, exc)
                owner.close()
                return None
            self._ports[url] = port
            self._spoken[url] = driver
            info = port.info()
            self._publish()
        if self.on_added is not None:
            self.on_added(info)
        return info

    def _document(self, url: str, completed: Completed) -> None:
        if self.on_document is not None:
            self.on_document(url, completed)

    def owner(self, url: str) -> LinkOwner | None:
        port = self._ports.get(url)
        return port.owner if port is not None else None

    def opener(self, fallback: Callable[[str], Kkt], *, add: bool = False,
               driver_of: Callable[[str], str | None] | None = None,
               ) -> Callable[[str], Kkt]:
        """An opener for the daemon: the owner's SharedKkt for a shared register, else
        ``fallback(url)``. With ``add``, a register the daemon opens for the first time gets
        its shared port then (a link the daemon adds while it runs); ``driver_of(url)``
        names its driver when known. A URL whose shared port failed once is not tried
        again: it keeps the plain opener."""

        def open_(url: str) -> Kkt:
            owner = self.owner(url)
            if owner is None and add and url not in self._refused:
                # a register whose protocol nobody can tell gets no shared port: speaking
                # the wrong protocol's exchanges to it would garble the cash software's
                driver = driver_of(url) if driver_of else self.driver
                if driver is None or self.add(url, driver) is None:
                    self._refused.add(url)
                owner = self.owner(url)
            return owner.kkt() if owner is not None else fallback(url)

        return open_

    def driver_at(self, url: str) -> str | None:
        """The driver the shared port of ``url`` speaks; None when it has none."""
        with self._lock:
            return self._spoken.get(url)

    def remove(self, url: str) -> None:
        """Close the shared port of ``url`` and its owner's link (the register there now
        speaks another protocol: the port must be opened again for it)."""
        with self._lock:
            port = self._ports.pop(url, None)
            self._spoken.pop(url, None)
            self._refused.discard(url)
            if port is not None:
                self._publish()
        if port is not None:
            port.stop()
            port.owner.close()

    def open_as(self, url: str, driver: str, fallback: Callable[..., Kkt]) -> Kkt:
        """The register at ``url`` through ``driver``: its shared port's SharedKkt (a port
        that speaks another protocol is replaced), else ``fallback(url, driver=driver)``
        when the driver declares no exchange rules or the port cannot be opened."""
        spoken = self.driver_at(url)
        if spoken is not None and spoken != driver:
            log.info("shared port of %s: %s -> %s", url, spoken, driver)
            self.remove(url)
        if self.owner(url) is None and url not in self._refused and \
                self.add(url, driver) is None:
            self._refused.add(url)
        owner = self.owner(url)
        return owner.kkt() if owner is not None else fallback(url, driver=driver)

    def reset(self, url: str) -> None:
        """The register at ``url`` was unplugged: drop its dead port now."""
        owner = self.owner(url)
        if owner is not None:
            owner.reset()

    def infos(self) -> list[SharedPortInfo]:
        with self._lock:
            return [port.info() for port in self._ports.values()]

    def close(self) -> None:
        with self._lock:
            ports, self._ports = list(self._ports.values()), {}
            if self.state_file is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.state_file.unlink()
        for port in ports:
            port.stop()
            port.owner.close()

    def _publish(self) -> None:
        if self.state_file is None:
            return
        data = [port.info().as_json() for port in self._ports.values()]
        tmp = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.state_file)
        except OSError as exc:
            log.warning("%s not written: %s", self.state_file, exc)

    def __enter__(self) -> SharedPorts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def published(directory: Path, url: str | None = None) -> list[SharedPortInfo]:
    """The shared ports a running daemon offers (all, or the one of ``url``); none when no
    daemon runs or it offers none."""
    try:
        data = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        found = [SharedPortInfo(register=str(item["register"]), device_url=str(item["device"]),
                                path=str(item["path"]), pty=str(item["pty"]),
                                tcp_url=item.get("tcp")) for item in data]
    except (OSError, ValueError, TypeError, KeyError):
        return []
    # a daemon killed without its clean-up leaves the file; its names then lead nowhere
    return [info for info in found
            if (url is None or info.device_url == url) and os.path.exists(info.path)]


__all__ = ["STATE_FILE", "DocumentListener", "SharedPorts", "published"]
