"""What the local server is built over: the actions, access rules, events and metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kkt_bridge.bridge.actions import Actions
from kkt_bridge.bridge.events import EventBus
from kkt_bridge.web.security import Security


@dataclass
class WebContext:
    """One server's world. ``urls`` lists the registers the daemon watches (the page shows
    them even before they are paired); ``registry`` is the prometheus_client registry
    ``/metrics`` serves (None: no metrics); ``stopping`` ends event streams at shutdown."""

    actions: Actions
    security: Security
    bus: EventBus
    urls: Callable[[], list[str]] = list
    #: watch one more register (the daemon's ``add_link``); None: nothing to watch with
    watch: Callable[[str], object] | None = None
    registry: Any = None
    stopping: threading.Event = field(default_factory=threading.Event)
    #: the server's own address, once bound (http://127.0.0.1:PORT)
    base_url: str = ""
    #: the demo's emulated register: the control URL of its keyboard
    #: (:mod:`kkt_bridge.emulation.control`). Only ``kkt-bridge demo`` sets it: then the
    #: page links to «Эмулятор ККТ»; a real ``run`` has no such page.
    emulator_control: str | None = None

    def login_url(self) -> str:
        """A fresh one-time login address for the page."""
        return f"{self.base_url}/login?token={self.security.login_token()}"
