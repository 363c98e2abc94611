"""The one owner of a register's real link: the bridge and the shared ports take turns on it.

:class:`LinkOwner` holds the open port and a :class:`~.fairlock.FairLock`. A shared port
(:mod:`.proxy`) takes a *cash turn* for each exchange of the cash software; the bridge takes
a *bridge turn* for each unit of its own work. :class:`SharedKkt` is the bridge's register
seen through the owner: every :class:`~kkt_bridge.kkt.Kkt` call is one turn, and
``iter_documents`` takes one turn per document, so a catch-up of a large backlog lets the
cashier in after each document while a document's stateful read (Shtrih FF3A + FF3B) is
never split. Code written against ``Kkt`` (the exporter) needs no change: it is handed a
``SharedKkt`` instead of the register itself.

The port is opened on first use and again after it failed (a cable pulled, a socket reset).
While it cannot be opened, a cash turn gets no port: the shared port stays silent, as the
register would, and the cash software times out on its own.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from kkt_bridge.errors import KktBridgeError, LinkClosedError, LinkError, ProtocolError
from kkt_bridge.i18n import _
from kkt_bridge.kkt import (
    Capability,
    Cashier,
    DocumentInfo,
    FnStatus,
    Identity,
    Kkt,
    KktStatus,
    OfdQueue,
    Registration,
    Shift,
    capabilities_of,
)

from .device_io import drain_stale, fileno_of
from .fairlock import FairLock
from .rules import Completed, ExchangeRules

log = logging.getLogger(__name__)

#: how often a cash turn tries to open a port that failed (the bridge tries on every turn)
REOPEN_INTERVAL = 1.0

Listener = Callable[[Completed], None]


class LinkOwner:
    """The real link of one register and the turns taken on it."""

    def __init__(self, url: str, rules: ExchangeRules, *, baudrate: int | None = None,
                 reopen_interval: float = REOPEN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.rules = rules
        self.baudrate = baudrate
        self.reopen_interval = reopen_interval
        self._clock = clock
        self._lock = FairLock()
        self._port: Any = None
        self._kkt: Kkt | None = None
        self._next_open = 0.0
        self._unsettled = False
        self._after_cash = False
        self._listeners: list[Listener] = []
        self._closed = False
        #: cash-software commands answered, and the fiscal documents they made (for status)
        self.exchanges = 0
        self.documents_made = 0
        self.last_error: str | None = None

    # --- turns ------------------------------------------------------------------------

    @contextlib.contextmanager
    def bridge_turn(self) -> Iterator[Kkt]:
        """The register for the bridge's own work; waits while a cash program waits.

        Raises the LinkError of a port that cannot be opened."""
        self._lock.acquire(priority=False)
        try:
            kkt = self._open_kkt()
            try:
                if self._after_cash:
                    # the cash software's last exchange may have left bytes of the register
                    # on the line (an answer it gave up on): the bridge's first command
                    # would read them as its own reply
                    drain_stale(self._port, fileno_of(self._port))
                    self._after_cash = False
                yield kkt
            except (LinkClosedError, OSError):
                self._drop()
                raise
            except (LinkError, ProtocolError):
                # the register may hold the answer of a command we gave up on
                self._unsettled = True
                raise
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def cash_turn(self) -> Iterator[Any]:
        """The open port for one exchange of the cash software, None while the register
        cannot be reached (the caller then stays silent). Goes before any waiting bridge
        turn."""
        self._lock.acquire(priority=True)
        try:
            self._after_cash = True
            port = self._open_quietly()
            if port is not None and self._unsettled:
                try:
                    self.rules.settle(port)
                    self._unsettled = False
                except (LinkError, OSError) as exc:
                    log.debug("settling %s failed: %s", self.url, exc)
                    self._drop()
                    port = None
            yield port
        finally:
            self._lock.release()

    def port_failed(self, exc: BaseException) -> None:
        """A cash turn's port raised: close it; the next turn opens it again."""
        log.info("link to %s failed during a cash exchange: %s", self.url, exc)
        self.last_error = str(exc)
        self._drop()

    def reset(self, timeout: float = 5.0) -> None:
        """Close the port now (the register was unplugged: its descriptor is dead); the
        next turn opens it again."""
        got = self._lock.acquire(priority=True, timeout=timeout)
        try:
            self._drop()
        finally:
            if got:
                self._lock.release()

    def kkt(self) -> SharedKkt:
        """The register as the bridge's jobs use it: one turn per call, per document."""
        return SharedKkt(self)

    # --- events -----------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """``listener(completed)`` after each cash-software command that made a document."""
        self._listeners.append(listener)

    def report(self, completed: Completed) -> None:
        """Called by the shared ports for every completed cash-software command."""
        self.exchanges += 1
        if not completed.made_document:
            return
        self.documents_made += 1
        for listener in list(self._listeners):
            try:
                listener(completed)
            except Exception:  # a listener's bug must not break the cash software's link
                log.exception("document listener failed")

    @property
    def cash_waiting(self) -> int:
        return self._lock.cash_waiting

    @property
    def connected(self) -> bool:
        return self._port is not None

    # --- the port ---------------------------------------------------------------------

    def _open_kkt(self) -> Kkt:
        if self._closed:
            raise LinkClosedError(_closed_message(self.url))
        if self._port is None:
            self._open()
        assert self._kkt is not None
        return self._kkt

    def _open_quietly(self) -> Any:
        if self._closed:
            return None
        if self._port is None and self._clock() >= self._next_open:
            try:
                self._open()
            except KktBridgeError as exc:
                self.last_error = str(exc)
                self._next_open = self._clock() + self.reopen_interval
                log.debug("%s cannot be opened for the cash software: %s", self.url, exc)
        return self._port

    def _open(self) -> None:
        port = self.rules.open_port(self.url, self.baudrate)
        try:
            self._kkt = self.rules.kkt_on_port(port)
        except BaseException:
            port.close()
            raise
        self._port = port
        self._unsettled = False
        self.last_error = None

    def _drop(self) -> None:
        port, self._port, self._kkt = self._port, None, None
        self._next_open = 0.0
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()

    def close(self, timeout: float = 5.0) -> None:
        """Close the real port (after the turn in hand); no turn opens it again."""
        got = self._lock.acquire(priority=True, timeout=timeout)
        try:
            self._closed = True
            self._drop()
        finally:
            if got:
                self._lock.release()


def _closed_message(url: str) -> str:
    return _("связь с ККТ {url} закрыта").format(url=url)


class SharedKkt:
    """A :class:`~kkt_bridge.kkt.Kkt` whose every call is one bridge turn of the owner.

    Driver-specific methods are reached too (one turn each). ``close`` does nothing: the
    owner keeps the link."""

    def __init__(self, owner: LinkOwner) -> None:
        self.owner = owner

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self.owner.bridge_turn() as kkt:
            return getattr(kkt, name)(*args, **kwargs)

    def identity(self) -> Identity:
        result: Identity = self._call("identity")
        return result

    def status(self) -> KktStatus:
        result: KktStatus = self._call("status")
        return result

    def registration(self) -> Registration | None:
        result: Registration | None = self._call("registration")
        return result

    def fn_status(self) -> FnStatus:
        result: FnStatus = self._call("fn_status")
        return result

    def ofd_queue(self) -> OfdQueue:
        result: OfdQueue = self._call("ofd_queue")
        return result

    def shift(self) -> Shift:
        result: Shift = self._call("shift")
        return result

    def document_info(self, fd_number: int) -> DocumentInfo:
        result: DocumentInfo = self._call("document_info", fd_number)
        return result

    def read_document(self, fd_number: int) -> bytes:
        """One document, read whole in one turn (never split by the cash software)."""
        result: bytes = self._call("read_document", fd_number)
        return result

    def iter_documents(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        """One turn per document: between two documents the cashier goes first."""
        for number in range(first, last + 1):
            yield number, self.read_document(number)

    def read_cashiers(self) -> list[Cashier]:
        result: list[Cashier] = self._call("read_cashiers")
        return result

    def write_cashier(self, row: int, name: str) -> None:
        self._call("write_cashier", row, name)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """The driver's capabilities: a fact about the driver, read in a turn only because
        the register object exists while the owner holds the link."""
        with self.owner.bridge_turn() as kkt:
            return capabilities_of(kkt)

    def close(self) -> None:
        """The owner keeps the link open for the shared port."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._call(name, *args, **kwargs)

        return call


__all__ = ["REOPEN_INTERVAL", "LinkOwner", "SharedKkt"]
