"""What a driver declares so the core can share its register link: the exchange rules.

The shared port (:mod:`kkt_bridge.share`) forwards the cash software's bytes to the register
and the register's bytes back, unchanged, and must never let the bridge's own commands in
while an exchange is under way. Which bytes make one exchange is the protocol's business, so
the driver declares it, as a tracker the core feeds with every byte that crosses the link
both ways. The core knows no vendor byte: it asks the tracker "busy?" and "until when?".

A driver offers the rules through an ``exchange_rules()`` method (see
:func:`kkt_bridge.driverapi.exchange_rules_of`); a driver without one has no shared port.

How two protocols map onto it:

- Shtrih-M (``kkt_bridge.drivers.shtrih.exchange``): an exchange starts with the host's ENQ
  or frame and ends when the host ACKs the answer frame (ENQ -> NAK -> frame -> ACK ->
  answer -> ACK, with NAK resends and a held answer read again by ENQ). A stray 0xFF of a
  network register between frames is not forwarded. FF3A opens a stateful read continued by
  FF3B: the tracker stays busy until the read ends, so the bridge's own FF3A cannot reset it.
- ATOL (``kkt_bridge.drivers.atol.exchange``, protocol 3.1, transport v3): the
  frame is ``FE LEN0 LEN1 ID DATA CRC`` and every host payload starts with a task-buffer
  command. An exchange starts with the host's ADD (``C1 flags tid task``) and lasts through
  the register's synchronous reply (same packet ID) and the asynchronous result (packet ID
  F0, ``A6 tid answer`` or ``A7 tid error``) until the host's ``C2 tid`` frees the task; a
  lone REQ (``C3``) or ABORT (``C4``) is an exchange of its own. Holding the link that long
  matters: the register serves one task buffer, and the bridge's ADD or ABORT in between
  would take it or cancel the cash software's task. Packet IDs and task ids of the two
  programs never meet in the buffer, because each task is freed before the other side
  goes. A task the host never acknowledges is given up at the tracker's deadline (the
  command's answer time); the bridge's driver then meets B2 for a reused tid and frees it.
  ``A4 45`` + ``A4 46`` (document read) is a stateful read like FF3A; ``closes_document``
  is declared for the closing tasks the driver declares (close receipt, open shift, close
  shift with the Z-report). Transport v2 (``02 ... 03``, ENQ/ACK/EOT) would map like
  Shtrih's handshake; the driver speaks v3 only.

Every deadline the tracker gives is a protocol fact (the register's own timeouts), so a host
that disappears mid-exchange releases the link after at most that long.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from kkt_bridge.kkt import Kkt


@dataclass(frozen=True)
class Completed:
    """A command of the cash software whose answer reached it (the host acknowledged it).

    ``command``: the code as the driver names it in logs ("FF45", "85"); ``error``: the
    register's answer code (0 = done); ``closes_document``: the driver declares the command
    as one that makes a fiscal document (a receipt closed, a shift opened or closed ...).
    """

    command: str
    error: int
    closes_document: bool

    @property
    def made_document(self) -> bool:
        return self.closes_document and self.error == 0


class ExchangeTracker(Protocol):
    """Watches one conversation between one cash program (the host) and the register.

    The core calls :meth:`from_host` with every byte the host wrote and :meth:`from_device`
    with every byte the register wrote, in the order they crossed; each returns the bytes to
    pass on (a tracker may hold back bytes that are link noise, never protocol bytes).
    ``now`` is ``time.monotonic()``.
    """

    def from_host(self, data: bytes, now: float) -> bytes:
        ...

    def from_device(self, data: bytes, now: float) -> bytes:
        ...

    def busy(self, now: float) -> bool:
        """Whether an exchange is under way: the link is not to be given to anyone else.

        An exchange whose deadline has passed is over (the host or the register gave up)."""
        ...

    def deadline(self) -> float | None:
        """The next moment :meth:`busy` may turn False with no byte coming (a frame or an
        exchange given up); None when idle."""
        ...

    def completed(self) -> list[Completed]:
        """The commands completed since the last call (drained)."""
        ...


class SharedPortLike(Protocol):
    """What the core needs of an open register link (a pyserial port satisfies it)."""

    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class ExchangeRules(Protocol):
    """A driver's declaration of how its link is shared (what ``exchange_rules()`` returns)."""

    def tracker(self) -> ExchangeTracker:
        """A fresh tracker for one cash program's conversation."""
        ...

    def open_port(self, url: str, baudrate: int | None) -> Any:
        """Open the register's real link (a pyserial-like port); LinkError when it cannot."""
        ...

    def kkt_on_port(self, port: Any) -> Kkt:
        """The driver's register over an already open port (the port stays the caller's)."""
        ...

    def settle(self, port: Any) -> None:
        """Bring the register back to idle after the bridge's own command failed half-way
        (an answer it holds is read and dropped), so the cash software's next exchange
        starts where it would on a quiet link. Raises LinkError when the register is gone."""
        ...


__all__ = ["Completed", "ExchangeRules", "ExchangeTracker", "SharedPortLike"]
