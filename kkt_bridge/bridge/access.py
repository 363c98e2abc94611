"""How an action reaches a register: through the daemon's worker, or directly.

Every action that talks to a register hands a function of the :class:`RegisterLink` to a
:class:`RegisterAccess`. Inside the daemon that is the register's worker, which runs it
between its own jobs (requests queue, none is refused as busy); without a daemon it is
:class:`DirectAccess`, which opens the port for the one action and waits its turn on the
link lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from kkt_bridge.bridge.locks import LinkBusyError
from kkt_bridge.bridge.scheduler import RegisterLink
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt

T = TypeVar("T")

#: how long a request waits for another process's step on the same link before it is
#: told the register is busy (within the daemon, requests queue and never see this)
DIRECT_WAIT = 2.0


class RegisterAccess(Protocol):
    def call(self, url: str, work: Callable[[RegisterLink], T]) -> T:
        """Run ``work`` with the register at ``url``, alone on its link."""
        ...


class DirectAccess:
    """No daemon: the port is opened for one action and closed after it."""

    def __init__(self, lock_dir: Path, opener: Callable[[str], Kkt], *,
                 wait: float = DIRECT_WAIT) -> None:
        self.lock_dir = lock_dir
        self.opener = opener
        self.wait = wait

    def call(self, url: str, work: Callable[[RegisterLink], T]) -> T:
        link = RegisterLink(url, self.opener, self.lock_dir)
        deadline = time.monotonic() + self.wait
        while not link.lock.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise LinkBusyError(
                    _("ККТ {link} занята другим заданием").format(link=url),
                    _("дождитесь окончания текущего обмена и повторите"))
            time.sleep(0.05)
        try:
            return work(link)
        finally:
            link.drop()
            link.lock.release()
